"""Build hook for brigade-client: generates the gRPC stubs from the .proto files.

The repository's ``proto/`` directory (``../../proto`` from here) is the source
of truth. When it is reachable, its ``brigade/**/*.proto`` files are copied into
``./proto`` (git-ignored) so that an sdist carries them and a build from that
sdist, or from an isolated copy of this directory, still finds them. The stubs
are generated with grpcio-tools into the build directory (``build_py``), so no
generated code lives in the source tree, except for editable installs, which
generate into ``src/brigade_client/_proto`` (also git-ignored).

The runtime requirements on grpcio and protobuf are derived from the
grpcio-tools used here, since generated code refuses to run on older runtimes.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
REPO_PROTO = HERE.parent.parent / "proto"
LOCAL_PROTO = HERE / "proto"
# Where the generated modules go inside the package.
GENERATED_PACKAGE = "brigade_client._proto"


def _proto_files(root: Path) -> list[Path]:
    return sorted((root / "brigade").rglob("*.proto"))


def sync_protos() -> Path:
    """Refreshes ./proto from the repository when it is reachable; returns the proto root."""
    repo_files = _proto_files(REPO_PROTO) if REPO_PROTO.is_dir() else []
    if repo_files:
        target = LOCAL_PROTO / "brigade"
        if target.exists():
            shutil.rmtree(target)
        for src in repo_files:
            dest = LOCAL_PROTO / src.relative_to(REPO_PROTO)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
    if not _proto_files(LOCAL_PROTO):
        raise SystemExit(
            f"brigade-client: no .proto files found in {REPO_PROTO} or {LOCAL_PROTO}; "
            "build from a checkout of the Brigade repository or from an sdist"
        )
    return LOCAL_PROTO


def _import_grpc_tools():  # type: ignore[no-untyped-def]
    try:
        import grpc_tools  # noqa: F401
        from grpc_tools import protoc
    except ImportError as e:  # pragma: no cover - only without build isolation
        raise SystemExit(
            "brigade-client: grpcio-tools is needed to build this package "
            "(pip installs it automatically unless --no-build-isolation is used)"
        ) from e
    return protoc


_IMPORT_RE = re.compile(r"^(from|import) brigade\.", re.MULTILINE)


def generate(out_dir: Path) -> None:
    """Generates *_pb2.py, *_pb2.pyi and *_pb2_grpc.py for every proto under out_dir."""
    protoc = _import_grpc_tools()
    import grpc_tools

    proto_root = sync_protos()
    well_known = Path(grpc_tools.__file__).resolve().parent / "_proto"
    package_dir = out_dir.joinpath(*GENERATED_PACKAGE.split("."))
    if package_dir.exists():
        shutil.rmtree(package_dir)
    package_dir.mkdir(parents=True)
    files = [str(p.relative_to(proto_root)) for p in _proto_files(proto_root)]
    args = [
        "grpc_tools.protoc",
        f"-I{proto_root}",
        f"-I{well_known}",
        f"--python_out={package_dir}",
        f"--pyi_out={package_dir}",
        f"--grpc_python_out={package_dir}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit(f"brigade-client: protoc failed: {' '.join(args)}")
    # protoc writes imports relative to the proto root ("from brigade.jobqueue.v1
    # import ..."); anchor them inside this package instead of claiming the
    # top-level name "brigade".
    for path in package_dir.rglob("*"):
        if path.suffix in (".py", ".pyi"):
            text = path.read_text(encoding="utf-8")
            fixed = _IMPORT_RE.sub(lambda m: f"{m.group(1)} {GENERATED_PACKAGE}.brigade.", text)
            if fixed != text:
                path.write_text(fixed, encoding="utf-8")
    for directory in [package_dir, *(p for p in package_dir.rglob("*") if p.is_dir())]:
        (directory / "__init__.py").touch()
    (package_dir / "__init__.py").write_text('"""Generated at build time from the Brigade .proto files."""\n')


_PROTOBUF_CHECK_RE = re.compile(
    r"ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,\s*(\d+),\s*(\d+),\s*(\d+),"
)
_GRPC_CHECK_RE = re.compile(r"GRPC_GENERATED_VERSION = '([^']+)'")


def runtime_requirements() -> list[str]:
    """grpcio and protobuf no older than what the generated code checks for."""
    _import_grpc_tools()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        text = "\n".join(p.read_text(encoding="utf-8") for p in Path(tmp).rglob("*.py"))
    grpc = _GRPC_CHECK_RE.search(text)
    proto = _PROTOBUF_CHECK_RE.search(text)
    if grpc:
        grpc_req = f"grpcio>={grpc.group(1)}"
    else:
        from importlib.metadata import version

        grpc_req = f"grpcio>={version('grpcio-tools')}"
    if proto:
        major, minor, patch = (int(x) for x in proto.groups())
        # Generated code runs on the same protobuf major version, not older.
        proto_req = f"protobuf>={major}.{minor}.{patch},<{major + 1}"
    else:
        proto_req = "protobuf>=4.21"
    return [grpc_req, proto_req]


class BuildPyWithProtos(build_py):
    """build_py that also generates the gRPC stubs."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            out = HERE / "src"
        else:
            out = Path(self.build_lib)
        generate(out)
        self.announce(f"generated gRPC stubs into {out}", level=2)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:  # type: ignore[override]
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            package_dir = Path(self.build_lib).joinpath(*GENERATED_PACKAGE.split("."))
            if package_dir.exists():
                outputs.extend(str(p) for p in package_dir.rglob("*") if p.is_file())
        return outputs


os.chdir(HERE)
setup(
    install_requires=runtime_requirements(),
    cmdclass={"build_py": BuildPyWithProtos},
)
