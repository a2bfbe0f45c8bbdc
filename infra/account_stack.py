"""What exists once per AWS account and region, whatever the number of client stacks deployed there.

API Gateway writes access and execution logs through one account-level setting (`AWS::ApiGateway::Account`)
naming one CloudWatch role. A client stack that created it would claim it for itself: a second client in the
same account and region would overwrite it, and deleting either stack would stop both logging.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.nag_suppressions import ACCOUNT_STACK, apply_suppressions

ACCOUNT_STACK_NAME = "hopline-account"


class HoplineAccountStack(cdk.Stack):
    """The API Gateway CloudWatch Logs role and the account setting that names it; retained on delete."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=ACCOUNT_STACK_NAME,
            description="Hopline: once per account and region (API Gateway CloudWatch Logs role)",
            **kwargs,
        )
        role = iam.Role(
            self,
            "ApiGatewayCloudWatchRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        )
        # Other API Gateway stages in the account log through this setting too: keep it if the stack goes.
        role.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        account = apigateway.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
        account.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        apply_suppressions(self, ACCOUNT_STACK)
