"""The one composition root: concrete adapters built from settings, nowhere else.

Clients are built on first use, so a flow that never calls Vercel needs no Vercel
token; asking for one without its credential raises a ConfigError naming the variable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestra_ops.adapters._http import ClosesOnExit
from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.adapters.vercel import VercelClient
from orchestra_ops.ports.lambda_cloud import LambdaCloudApi
from orchestra_ops.ports.vercel import VercelApi
from orchestra_ops.settings import Settings, require


@dataclass
class Clients(ClosesOnExit):
    """The adapters for one run; close them (or use ``with``) when done."""

    settings: Settings
    _vercel: VercelClient | None = field(default=None, repr=False)
    _lambda_cloud: LambdaCloudClient | None = field(default=None, repr=False)

    def vercel(self) -> VercelApi:
        """The Vercel API client (needs VERCEL_TOKEN)."""
        if self._vercel is None:
            config = self.settings.vercel
            token = require(config.token, "VERCEL_TOKEN", "to call the Vercel API")
            self._vercel = VercelClient(config.api_url, token, team_id=config.team_id)
        return self._vercel

    def lambda_cloud(self) -> LambdaCloudApi:
        """The Lambda Cloud API client (needs LAMBDA_LABS_API_KEY)."""
        if self._lambda_cloud is None:
            config = self.settings.lambda_cloud
            key = require(config.api_key, "LAMBDA_LABS_API_KEY", "to call the Lambda Cloud API")
            self._lambda_cloud = LambdaCloudClient(config.api_url, key)
        return self._lambda_cloud

    def close(self) -> None:
        """Close every client built so far."""
        for client in (self._vercel, self._lambda_cloud):
            if client is not None:
                client.close()
        self._vercel = self._lambda_cloud = None


def build(settings: Settings) -> Clients:
    """The clients for ``settings``."""
    return Clients(settings)
