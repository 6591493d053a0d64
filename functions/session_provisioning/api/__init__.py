"""The HTTP side of the API: errors as answers, body parsing, OpenAPI; routes in handlers/api.py."""
