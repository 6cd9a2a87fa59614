"""Schemathesis authentication for the DPoP pass of `make fuzz-api` (RFC 9449): every request
presents the DPoP-bound token with a proof of its own, for its method and the URL it is sent
to, signed by the client key tests/fuzz-api.sh made, through the project's dpop-proof binary.
"""

import os
import subprocess

import schemathesis


@schemathesis.auth()
class DpopAuth:
    def get(self, case, ctx):
        return os.environ["DPOP_TOKEN"]

    def set(self, case, token, ctx):
        url = case.as_transport_kwargs(base_url=os.environ["DPOP_BASE"])["url"]
        proof = subprocess.run(
            [os.environ["DPOP_PROOF_BINARY"]],
            env={**os.environ, "DPOP_METHOD": case.method.upper(), "DPOP_URL": url},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"DPoP {token}"
        case.headers["DPoP"] = proof
