"""tus on the file store against the official Node tus server, with both tus clients, and the
API server's memory during a 2 GiB upload (issue 16, points 1 and 3).

Every repeat runs ours and the Node server back to back with the same client on the same
file, alternating which goes first (A B, then B A), so load that drifts during the run
(this machine is shared) hits both sides alike; the row's ratio is the median of the
per-repeat ratios. Each side's server CPU seconds per GiB are reported too: a ratio of
work, not of waiting.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from bench import files, peer
from bench.context import Context
from bench.harness import MB, MiB, Row, RssSampler, Stat
from bench.stack import ApiServer, World, api_server, login
from bench.uploads import TARGET_PEER_FILES, UPLOADS, _mbps, _throughput_row, check_evidence, our_tus_metadata, tus_s3

GiB = 1024 * MiB


def run(ctx: Context) -> list[Row]:
    """The ``tus`` case: S3 (uploads.tus_s3), files against the Node server, memory."""
    return [*tus_s3(ctx), *files_vs_peer(ctx), memory(ctx)]


def _ours(client: str, api: ApiServer, world: World, path: Path, sha: str, chunk: int) -> tuple[peer.Run, float]:
    headers = login(api.base_url, world.officer)
    before = peer.cpu_seconds(api.pid)
    with RssSampler(api.pid) as sampler:
        seconds = peer.upload(client, api.base_url + UPLOADS, headers, path, chunk, our_tus_metadata(world, path, sha))
    check_evidence(sha, world)
    return peer.Run(seconds=seconds, server_cpu_s=peer.cpu_seconds(api.pid) - before), sampler.growth / MB


def files_vs_peer(ctx: Context) -> list[Row]:
    size, chunk = ctx.sizes.tus_files, ctx.sizes.tus_chunk
    path = files.make_file(ctx.work / "files" / "tus-files.mp4", size)
    node_skip = peer.unavailable(install=not ctx.smoke)
    config = ctx.files_config()
    world = ctx.world(config)
    api = ctx.shared_api(config)
    rows: list[Row] = []
    for client in peer.CLIENTS if not node_skip else ("tuspy",):
        ours: list[peer.Run] = []
        node: list[peer.Run] = []
        rss: list[float] = []
        for i in range(ctx.repeats):
            sha, _ = files.renew(path)
            if node_skip:
                run, growth = _ours(client, api, world, path, sha, chunk)
                ours.append(run)
                rss.append(growth)
                continue
            for side in ("ours", "node") if i % 2 == 0 else ("node", "ours"):
                if side == "ours":
                    run, growth = _ours(client, api, world, path, sha, chunk)
                    ours.append(run)
                    rss.append(growth)
                else:
                    node.append(peer.upload_files(ctx, path, chunk, client))
            ctx.log(
                f"tus files, {client}, repeat {i + 1}: ours {_mbps(size, ours[-1].seconds):.0f} MB/s"
                + (f", node {_mbps(size, node[-1].seconds):.0f} MB/s" if node else "")
            )
        rows.append(_row(client, config.name, size, ours, node, rss, node_skip))
    return rows


def _cpu_per_gib(runs: list[peer.Run], size: int) -> float:
    return statistics.median(r.server_cpu_s for r in runs) * GiB / size


def _row(client: str, config: str, size: int, ours: list[peer.Run], node: list[peer.Run], rss: list[float], skip: str) -> Row:
    ours_mbps = [_mbps(size, r.seconds) for r in ours]
    if skip:
        return Row(
            case=f"tus upload ({client})",
            config=config,
            metric=f"throughput, {size / MB:.0f} MB",
            unit="MB/s",
            ours=Stat.of(ours_mbps),
            rss_growth_mb=max(rss),
            note=f"peer skipped: {skip}",
        )
    node_mbps = [_mbps(size, r.seconds) for r in node]
    row = _throughput_row(
        f"tus upload ({client})",
        config,
        size,
        ours_mbps,
        node_mbps,
        f"Node @tus/server + @tus/file-store, same {client} client",
        TARGET_PEER_FILES,
        rss,
        note=(
            f"server CPU {_cpu_per_gib(ours, size):.1f} s/GiB (Node {_cpu_per_gib(node, size):.1f}); "
            "ours hashes SHA-256 and fsyncs before every acknowledgement, Node does neither"
        ),
    )
    row.extra |= {"cpu_s_per_gib": _cpu_per_gib(ours, size), "node_cpu_s_per_gib": _cpu_per_gib(node, size)}
    return row


def memory(ctx: Context) -> Row:
    """A fresh API server: its RSS at idle (after one login), and its growth during one upload
    of 2 GiB in 8 MiB PATCHes (issue 16.3: < 100 MB)."""
    size = 16 * MiB if ctx.smoke else 2 * GiB
    path = files.make_file(ctx.work / "files" / "memory.mp4", size)
    sha, _ = files.renew(path)
    config = ctx.files_config()
    world = ctx.world(config)
    with api_server(config) as api:
        headers = login(api.base_url, world.officer)
        idle = RssSampler(api.pid).start_rss / MB
        with RssSampler(api.pid) as sampler:
            seconds = peer.upload(
                "tuspy", api.base_url + UPLOADS, headers, path, ctx.sizes.tus_chunk, our_tus_metadata(world, path, sha)
            )
        check_evidence(sha, world)
    growth = sampler.growth / MB
    ctx.log(f"memory: idle {idle:.0f} MB, +{growth:.0f} MB during {size / MiB:.0f} MiB")
    return Row(
        case="API server memory",
        config=config.name,
        metric=f"RSS growth during a {size / GiB:.2g} GiB tus upload",
        unit="MB",
        ours=Stat.of([growth]),
        target=f"< {100} MB",
        met=growth < 100,
        rss_growth_mb=growth,
        note=f"idle RSS {idle:.0f} MB (one uvicorn worker, one process); upload at {_mbps(size, seconds):.0f} MB/s",
        extra={"idle_rss_mb": idle, "growth_mb": growth},
    )
