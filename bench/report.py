"""The printed table (also pasted into README "Performance")."""

from __future__ import annotations

from typing import Any

from bench.harness import Row, Stat


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _stat(stat: Stat | None, unit: str = "") -> str:
    if stat is None:
        return "–"
    spread = f" ±{stat.spread_pct / 2:.0f}%" if len(stat.samples) > 1 else ""
    return f"{_num(stat.median)}{(' ' + unit) if unit else ''}{spread}"


def _verdict(row: Row) -> str:
    if row.met is None:
        return row.target
    return f"{row.target} {'✔' if row.met else '✘'}"


def render(rows: list[Row], report: dict[str, Any]) -> str:
    header = ["case", "config", "metric", "ours", "baseline", "ratio", "target", "server RSS Δ", "notes"]
    lines = [header]
    for row in rows:
        if row.skipped:
            lines.append([row.case, row.config, row.metric, "skipped", "", "", "", "", row.skipped])
            continue
        ratio = (
            f"{row.ratio.median:.2f}×" + (f" ±{row.ratio.spread_pct / 2:.0f}%" if len(row.ratio.samples) > 1 else "")
            if row.ratio
            else "–"
        )
        baseline = _stat(row.baseline, row.unit) + (f" ({row.baseline_name})" if row.baseline_name else "")
        rss = f"{row.rss_growth_mb:.0f} MB" if row.rss_growth_mb is not None else ""
        lines.append([row.case, row.config, row.metric, _stat(row.ours, row.unit), baseline, ratio, _verdict(row), rss, row.note])
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) + " |" for line in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    versions = report.get("versions", {})
    summary = (
        f"\n{report.get('cpu_count')} CPUs, {report.get('memory_gb')} GB RAM; {versions.get('platform', '')}; "
        f"Python {versions.get('python')}, Litestar {versions.get('litestar')}, uvicorn {versions.get('uvicorn')}, "
        f"minio {versions.get('minio')}, moto {versions.get('moto')}, Node {versions.get('node', 'missing')}; "
        f"repeats {report.get('repeats')}{' (SMOKE: sizes reduced, figures meaningless)' if report.get('smoke') else ''}.\n"
        "ratio = ours / baseline, the median of per-repeat ratios (each pair measured back to back): for throughput "
        "higher is better; for latency (ms) it is how many times the trivial route's latency, lower is better. "
        "± is half the min–max spread over the repeats."
    )
    return "\n".join(out) + summary
