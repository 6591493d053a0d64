"""Prints the CloudFormation that the SAM transform makes of template.yaml, as JSON.

    .venv-sam/bin/python tests/infrastructure/sam_transform.py template.yaml '{"ApiAuthType": "NONE"}'

Run with the SAM CLI's interpreter (.venv-sam: aws-sam-translator is not in the product's
environment). Offline: the managed policies SAM attaches are given here, not looked up, and
CodeUri/ContentUri/DefinitionUri are replaced by S3 locations as `sam package` would.
"""

from __future__ import annotations

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
}


class PolicyLoader:
    def load(self) -> dict[str, str]:
        return MANAGED_POLICIES


def main() -> None:
    path, parameters = sys.argv[1], json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path, encoding="utf-8") as stream:
        template = yaml_parse(stream.read())
    template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://bucket/code.zip"
    for resource in template["Resources"].values():
        properties = resource.get("Properties") or {}
        if "DefinitionUri" in properties:
            properties["DefinitionUri"] = "s3://bucket/definition.json"
        if "CodeUri" in properties:
            properties["CodeUri"] = "s3://bucket/code.zip"
        if "ContentUri" in properties:
            properties["ContentUri"] = "s3://bucket/layer.zip"
    json.dump(transform(template, parameters, PolicyLoader()), sys.stdout, default=str)


if __name__ == "__main__":
    main()
