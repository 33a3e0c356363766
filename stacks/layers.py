"""The Lambda layers: third-party dependencies split by need (base, crawl, AI) and the
shared `tvreport` package; each function gets only the layers its stage imports, so the
small functions never carry the crawling or AI stacks.

The dependency layer is built without Docker: pip downloads the manylinux wheels
for the Lambda runtime (CPython 3.14, arm64/Graviton: every pinned package ships an
aarch64 wheel, and arm64 is about 20 % cheaper per GB-s) whatever machine runs the
synth. The Docker command is kept as the fallback CDK uses when local bundling declines.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, ILocalBundling, aws_lambda as lambda_
from constructs import Construct

from tvreport.schema import STAGES, StageSpec

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEPENDENCIES_DIR = PROJECT_ROOT / "layers" / "dependencies"  # one folder per layer below
SHARED_DIR = PROJECT_ROOT / "layers" / "shared"
REQUIREMENTS_FILE = "requirements.txt"

# The newest Python runtime aws-cdk-lib knows (cdk-nag's AwsSolutions-L1 asks for
# it); every function and layer uses it, and pip fetches wheels for its version.
RUNTIME = lambda_.Runtime.PYTHON_3_14
RUNTIME_PYTHON_VERSION = RUNTIME.name.removeprefix("python")  # "3.14"
# The functions' architecture; the layers' wheels are built for it.
ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_PLATFORM = "manylinux2014_aarch64"

# Wheels for the Lambda runtime rather than for the machine running the synth.
PIP_PLATFORM_ARGS = (
    "--platform",
    PIP_PLATFORM,
    "--only-binary=:all:",
    "--python-version",
    RUNTIME_PYTHON_VERSION,
    "--implementation",
    "cp",
)


def pip_install_command(requirements: str, target: str) -> list[str]:
    """The pip arguments (after `pip`) that fill `target` for the Lambda runtime."""
    return ["install", "--quiet", "--no-compile", *PIP_PLATFORM_ARGS, "-r", requirements, "--target", target]


@jsii.implements(ILocalBundling)
class PipPlatformBundling:
    """Local bundling: `pip install --platform ...` into `<output>/python`."""

    def __init__(self, source_dir: Path) -> None:
        self._requirements = source_dir / REQUIREMENTS_FILE

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        # Decline (CDK then tries Docker) only when this interpreter has no pip;
        # a failing install is an error worth stopping the synth for.
        if not _has_pip_module():
            return False
        target = str(Path(output_dir) / "python")
        subprocess.run(
            [sys.executable, "-m", "pip", *pip_install_command(str(self._requirements), target)],
            check=True,
        )
        return True


def _has_pip_module() -> bool:
    result = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, check=False)
    return result.returncode == 0


# The dependency layers (layers/dependencies/<name>/requirements.txt) and what each holds.
DEPENDENCY_LAYERS = {
    "base": "Powertools, pydantic, tenacity, cryptography",
    "crawl": "httpx, selectolax",
    "ai": "the OpenAI SDK",
}
_BASE, _CRAWL, _AI = ("base",), ("base", "crawl"), ("base", "crawl", "ai")


def _stage_layers(spec: StageSpec) -> tuple[str, ...]:
    """A stage's dependency layers follow from its registry upstream: the HTTP client for
    an outside service, the OpenAI SDK as well for OpenAI, neither for none."""
    if spec.upstream is None:
        return _BASE
    return _AI if spec.upstream == "openai" else _CRAWL


# Which dependency layers each function (lambdas/<directory>) needs; every one also
# gets the shared layer.
LAYERS_BY_FUNCTION: dict[str, tuple[str, ...]] = {
    "api": _BASE,
    "dead_letters": _BASE,
    "progress_tracker": _BASE,
    "watchdog": _BASE,
    **{spec.folder: _stage_layers(spec) for spec in STAGES.values()},
}


class PipelineLayers:
    """The layers, made once per stack; `for_function` lists one function's."""

    def __init__(self, scope: Construct) -> None:
        self._dependencies = {name: dependencies_layer(scope, f"{name.capitalize()}DependenciesLayer", name)
                              for name in DEPENDENCY_LAYERS}
        self._shared = shared_layer(scope, "SharedLayer")

    def for_function(self, directory: str) -> list[lambda_.ILayerVersion]:
        return [*(self._dependencies[name] for name in LAYERS_BY_FUNCTION[directory]), self._shared]


def dependencies_layer(scope: Construct, construct_id: str, name: str) -> lambda_.LayerVersion:
    """Third-party packages from layers/dependencies/<name>/requirements.txt."""
    source = DEPENDENCIES_DIR / name
    docker_command = " ".join(
        ["pip", *pip_install_command(f"/asset-input/{REQUIREMENTS_FILE}", "/asset-output/python")]
    )
    code = lambda_.Code.from_asset(
        str(source),
        bundling=BundlingOptions(
            image=RUNTIME.bundling_image,
            local=PipPlatformBundling(source),  # type: ignore[arg-type]  # jsii: an ILocalBundling
            command=["bash", "-c", docker_command],
        ),
    )
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=code,
        description=f"{DEPENDENCY_LAYERS[name]} (pip --platform {PIP_PLATFORM}, CPython {RUNTIME_PYTHON_VERSION})",
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
    )


def shared_layer(scope: Construct, construct_id: str) -> lambda_.LayerVersion:
    """The `tvreport` package; layers/shared already has Lambda's python/ prefix."""
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=lambda_.Code.from_asset(str(SHARED_DIR), exclude=["**/__pycache__", "**/*.pyc"]),
        description="Shared tvreport domain package",
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
    )
