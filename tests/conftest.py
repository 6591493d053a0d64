"""Suite-wide safety: fake credentials and a fixed region, so nothing can reach real AWS."""

import os

# Set at import, before any test module creates a client.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        # Powertools outside Lambda: no X-Ray daemon, no EMF noise on stdout.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "nimble-session-provisioning",
        "POWERTOOLS_METRICS_NAMESPACE": "NimbleSessionProvisioning",
    }
)
for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(name, None)
