"""The explorer page: one self-contained HTML file (template, script, scene, pictures, decoder, runtime).

A page opened from file:// may not fetch other files, so everything is inlined: the scene as JSON, the
atlas PNG, the ONNX decoder, ONNX Runtime Web's JS module and its wasm (gzipped; the page unzips it with
the browser's DecompressionStream) as base64 in `<script type="text/plain">` blocks, which the browser
does not run. Only a page that decodes live carries the runtime.
"""

from __future__ import annotations

import base64
import html
import json
import re
from importlib import resources
from typing import Any

from genlab.explore.scene import Scene

__all__ = ["ORT_JS", "ORT_VERSION", "ORT_WASM_GZ", "render_page", "runtime_files"]

#: the vendored runtime (see vendor/VENDORED.md)
ORT_VERSION = "1.30.0"
ORT_JS = "ort.wasm.bundle.min.mjs"
ORT_WASM_GZ = "ort-wasm-simd-threaded.wasm.gz"


def _package_file(*parts: str) -> bytes:
    return resources.files("genlab.explore").joinpath(*parts).read_bytes()


def runtime_files() -> dict[str, bytes]:
    """The runtime's files as shipped with genlab: {name: bytes}."""
    return {name: _package_file("vendor", name) for name in (ORT_JS, ORT_WASM_GZ)}


def _b64(data: bytes | None) -> str:
    return base64.b64encode(data).decode() if data else ""


def render_page(scene: Scene, decoder: bytes | None, *, title: str) -> str:
    """The page's HTML. `decoder`: the ONNX bytes when the page decodes live (then the runtime is
    inlined too), else None. A scene of a conditional decoder gets the class selector, its options
    (the model's class names) written into the page, the scene's start class selected."""
    from genlab.explore._links import __version__

    template = _package_file("assets", "explorer.html").decode()
    script = _package_file("assets", "explorer.js").decode()
    if "</script" in script.lower():  # would end the inline script early
        raise AssertionError("explorer.js must not contain '</script'")
    runtime = runtime_files() if decoder else {}
    # JSON may hold "</" inside strings (a class name, a title); "<\/" is the same string to JSON
    scene_json = json.dumps(_jsonable(scene.data), separators=(",", ":"), allow_nan=False).replace(
        "</", "<\\/"
    )
    model = scene.data["model"]
    conditional = bool(model.get("conditional"))
    start = model.get("class")
    classes = "".join(
        f'<option value="{k}"{" selected" if k == start else ""}>{html.escape(str(name))}</option>'
        for k, name in enumerate(model.get("class_names") or [])
    ) if conditional else ""  # fmt: skip
    parts = {
        "@@VERSION@@": html.escape(__version__),
        "@@CLASSHIDDEN@@": "" if conditional else " hidden",
        "@@CLASSES@@": classes,
        "@@TITLE@@": html.escape(title),
        "@@SCENE@@": scene_json,
        "@@ATLAS@@": _b64(scene.atlas),
        "@@DECODER@@": _b64(decoder),
        "@@ORTJS@@": _b64(runtime.get(ORT_JS)),
        "@@ORTWASM@@": _b64(runtime.get(ORT_WASM_GZ)),
        "@@EXPLORER_JS@@": script,
    }
    # one pass over the template: a payload that happens to contain "@@...@@" is left as it is
    return re.sub(r"@@[A-Z_]+@@", lambda m: parts[m.group(0)], template)


def _jsonable(v: Any) -> Any:
    """Plain JSON values: numpy scalars to Python numbers, non-finite floats refused by json.dumps."""
    import numpy as np

    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v
