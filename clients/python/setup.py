"""Build hook for brigade-client: generates the gRPC stubs from the .proto files.

The repository's ``proto/`` directory (``../../proto`` from here) is the source
of truth; an sdist carries a copy under ``proto/`` (written into the sdist, not
into this directory). The stubs are generated with the pinned grpcio-tools into
the build directory, so nothing is written to the source tree: setuptools'
``build/`` and ``*.egg-info`` go to a temporary directory as well. Editable
installs are the exception: they generate into ``src/brigade_client/_proto``
(git-ignored).

The runtime requirements are static (pyproject.toml). After generating, the
build checks that the generated code asks for no newer grpcio or protobuf than
those floors, so a change of grpcio-tools cannot silently break them.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
REPO_PROTO = HERE.parent.parent / "proto"
SDIST_PROTO = HERE / "proto"
# Where the generated modules go inside the package.
GENERATED_PACKAGE = "brigade_client._proto"


def _proto_files(root: Path) -> list[Path]:
    return sorted((root / "brigade").rglob("*.proto")) if root.is_dir() else []


def proto_root() -> Path:
    """The repository's proto/ in a checkout, the sdist's copy otherwise."""
    for root in (REPO_PROTO, SDIST_PROTO):
        if _proto_files(root):
            return root
    raise SystemExit(
        f"brigade-client: no .proto files found in {REPO_PROTO} or {SDIST_PROTO}; "
        "build from a checkout of the Brigade repository or from an sdist"
    )


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def declared_floor(package: str) -> tuple[int, ...]:
    """The lower bound pyproject.toml declares for a runtime dependency."""
    text = (HERE / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(rf'"{package}>=([0-9.]+)', text)
    if not found:
        raise SystemExit(f"brigade-client: pyproject.toml declares no lower bound for {package}")
    return _version_tuple(found.group(1))


_IMPORT_RE = re.compile(r"^(from|import) brigade\.", re.MULTILINE)
_PROTOBUF_CHECK_RE = re.compile(
    r"ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,\s*(\d+),\s*(\d+),\s*(\d+),"
)
_GRPC_CHECK_RE = re.compile(r"GRPC_GENERATED_VERSION = '([^']+)'")


def check_runtime_floors(package_dir: Path) -> None:
    """Fails when the generated code needs a newer runtime than pyproject.toml allows."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in package_dir.rglob("*.py"))
    needs = {
        "grpcio": [_version_tuple(v) for v in _GRPC_CHECK_RE.findall(text)],
        "protobuf": [tuple(int(x) for x in m) for m in _PROTOBUF_CHECK_RE.findall(text)],
    }
    for package, versions in needs.items():
        floor = declared_floor(package)
        for needed in versions:
            if needed > floor:
                raise SystemExit(
                    f"brigade-client: the generated stubs need {package} >= "
                    f"{'.'.join(map(str, needed))}, but pyproject.toml allows {'.'.join(map(str, floor))}"
                )


def generate(out_dir: Path) -> None:
    """Generates *_pb2.py, *_pb2.pyi and *_pb2_grpc.py for every proto under out_dir."""
    try:
        import grpc_tools
        from grpc_tools import protoc
    except ImportError as e:  # pragma: no cover - only without build isolation
        raise SystemExit(
            "brigade-client: grpcio-tools is needed to build this package "
            "(pip installs it automatically unless --no-build-isolation is used)"
        ) from e

    root = proto_root()
    well_known = Path(grpc_tools.__file__).resolve().parent / "_proto"
    package_dir = out_dir.joinpath(*GENERATED_PACKAGE.split("."))
    if package_dir.exists():
        shutil.rmtree(package_dir)
    package_dir.mkdir(parents=True)
    files = [str(p.relative_to(root)) for p in _proto_files(root)]
    args = [
        "grpc_tools.protoc",
        f"-I{root}",
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
    check_runtime_floors(package_dir)


class BuildPyWithProtos(build_py):
    """build_py that also generates the gRPC stubs."""

    def run(self) -> None:
        super().run()
        out = HERE / "src" if getattr(self, "editable_mode", False) else Path(self.build_lib)
        generate(out)
        self.announce(f"generated gRPC stubs into {out}", level=2)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:  # type: ignore[override]
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            package_dir = Path(self.build_lib).joinpath(*GENERATED_PACKAGE.split("."))
            if package_dir.exists():
                outputs.extend(str(p) for p in package_dir.rglob("*") if p.is_file())
        return outputs


class SdistWithProtos(sdist):
    """sdist that carries the .proto files, copied into the sdist only."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:  # type: ignore[override]
        super().make_release_tree(base_dir, files)
        root = proto_root()
        for src in _proto_files(root):
            dest = Path(base_dir) / "proto" / src.relative_to(root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)


# setuptools' scratch space (build/, *.egg-info) stays out of the source tree.
_scratch = Path(tempfile.mkdtemp(prefix="brigade-client-build-"))
atexit.register(shutil.rmtree, _scratch, True)

setup(
    cmdclass={"build_py": BuildPyWithProtos, "sdist": SdistWithProtos},
    options={
        "build": {"build_base": str(_scratch / "build")},
        "egg_info": {"egg_base": str(_scratch)},
    },
)
