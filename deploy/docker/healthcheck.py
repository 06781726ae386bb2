#!/usr/bin/env python3
"""Container health check: exit 0 if GET <url> answers 2xx within the timeout.

Installed in every image as /usr/local/bin/healthcheck (python:3.11-slim has no
curl or wget). ``$VAR`` / ``${VAR}`` in the URL are expanded from the
container's environment, so the Dockerfile's exec-form HEALTHCHECK follows a
port changed at run time:

    healthcheck 'http://127.0.0.1:${API_PORT}/healthz'
"""

import os
import sys
import urllib.request


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: healthcheck URL", file=sys.stderr)
        return 2
    url = os.path.expandvars(sys.argv[1])
    timeout = float(os.environ.get("HEALTHCHECK_TIMEOUT_SECONDS", "3"))
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 0 if 200 <= resp.status < 300 else 1
    except Exception as exc:  # any failure (refused, timeout, HTTP error) is "unhealthy"
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
