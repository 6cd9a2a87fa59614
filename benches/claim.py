"""Prints one claim of a JWT's payload (the first value of an array): the issuer and audience
the benchmark scripts set their bare servers to check. Usage: claim.py TOKEN NAME"""
import base64
import json
import sys

payload = sys.argv[1].split(".")[1]
value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))[sys.argv[2]]
print(value if isinstance(value, str) else value[0])
