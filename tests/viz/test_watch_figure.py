"""The watch figure draws what the stop rests on (the copy shares, with their limits) beside the diagnostics."""

from __future__ import annotations

import pytest

from genlab.viz import plots


def _checks(with_shares: bool) -> list[dict]:
    out = [{"step": 0, "losses": {"loss": 1.0}}]
    for i, step in enumerate((100, 200, 300)):
        r = {"event": "watch", "step": step, "fail": i == 2, "ct": 1.0 - 3 * i, "ct_reference": 0.0,
             "memorization_rate": 0.01 * i, "memorization_reference": 0.0, "memorization_limit": 0.02,
             "frechet_distance": 5.0 - i, "frechet_reference": 0.5}  # fmt: skip
        if with_shares:
            r |= {"copy_share": 0.05 + 0.2 * i, "copy_share_reference": 0.05, "copy_share_limit": 0.09,
                  "near_copy_share": 0.25 + 0.2 * i, "near_copy_share_reference": 0.25,
                  "near_copy_share_limit": 0.3}  # fmt: skip
        out.append(r)
    return out


@pytest.mark.parametrize("with_shares", [True, False])
def test_watch_figure_panels(monkeypatch, with_shares):
    seen = {}

    def capture(fig):
        seen["titles"] = [ax.get_title() for ax in fig.axes if ax.axison]
        seen["limits"] = {ax.get_title(): [ln.get_label() for ln in ax.get_lines()] for ax in fig.axes}
        return b"\x89PNG"

    monkeypatch.setattr(plots, "png_bytes", capture)
    assert plots.watch_png(_checks(with_shares)) == b"\x89PNG"
    titles = seen["titles"]
    assert titles[0] == "loss" and "Frechet distance (fidelity)" in titles
    assert any(t.startswith("C_T") for t in titles) and any(t.startswith("memorisation") for t in titles)
    shares = [t for t in titles if "copy share" in t]
    assert len(shares) == (2 if with_shares else 0)  # an old log (before the copy shares) has no such panels
    for t in shares:
        assert seen["limits"][t] == [
            "samples",
            "held-out",
            "limit",
        ]  # the stop's limit drawn beside the reference
    assert plots.watch_png([{"step": 1, "losses": {"loss": 1.0}}]) is None  # no checks: no figure
