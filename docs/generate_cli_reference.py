"""Write docs/cli.md from the Typer app, so the CLI reference never drifts from the code.

python docs/generate_cli_reference.py          # rewrites docs/cli.md
python docs/generate_cli_reference.py --check  # exit 1 if docs/cli.md is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from genlab.cli import app

TARGET = Path(__file__).with_name("cli.md")


def _param_row(p, ctx) -> str:  # noqa: ANN001 - a (vendored) click Parameter and Context
    if p.param_type_name == "argument":
        name = f"`{p.name.upper()}`"
        kind = "argument" + ("" if p.required else ", optional")
        help_ = getattr(p, "help", "") or ""
    else:
        names = [*p.opts, *p.secondary_opts]
        name = " / ".join(f"`{n}`" for n in names)
        kind = "flag" if getattr(p, "is_flag", False) else p.display_type(ctx).lower()
        if getattr(p, "multiple", False):
            kind += ", repeatable"
        help_ = getattr(p, "help", "") or ""
    default = p.default
    if isinstance(default, str | int | float) and not isinstance(default, bool) and default != "":
        help_ += f" Default: `{default}`."
    return f"| {name} | {kind} | {help_.strip()} |"


def render() -> str:
    root = typer.main.get_command(app)
    lines = [
        "# genlab command-line reference",
        "",
        "Generated from the Typer app by `docs/generate_cli_reference.py`; do not edit by hand.",
        "",
        (root.help or "").strip(),
        "",
        "Global option: `--debug` shows full tracebacks. A user error prints one line to stderr and exits 2.",
        "",
    ]
    for name in root.list_commands(typer.Context(root)):
        cmd = root.get_command(typer.Context(root), name)
        if cmd is None or cmd.hidden:
            continue
        ctx = typer.Context(cmd, info_name=f"genlab {name}")
        lines += [
            f"## `genlab {name}`",
            "",
            (cmd.help or "").strip(),
            "",
            "```",
            cmd.get_usage(ctx),
            "```",
            "",
        ]
        params = [p for p in cmd.params if p.name != "help"]
        if params:
            lines += [
                "| parameter | type | meaning |",
                "| --- | --- | --- |",
                *(_param_row(p, ctx) for p in params),
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not TARGET.is_file() or TARGET.read_text() != text:
            print(f"{TARGET} is stale: run python docs/generate_cli_reference.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
