"""KV eviction policies of trimserve's reference (DESIGN.md §3), on cache metadata only.

Every function here sees a cache as a list of lanes (lane index = layer * Hkv + kv_head), each
lane given by its entries' positions (int, 0-based) and log-retention logβ, in lane order
(oldest first). It answers which entries survive, as sorted index arrays into each lane, so
survivors keep their original order.

Score of an entry: s = (q - pos) * logβ in float64, q = num_processed + 1 (tokens the sequence
has processed, counting the step that just ran, plus one). Tie-break everywhere: higher score
first, then LARGER pos, then (global mode only) smaller layer, then smaller head.

Policies (M = per-lane budget, B = buffer):
  full           nothing is evicted.
  window         a lane with len >= M + B keeps its first `sinks` entries and its last M - sinks.
  trimkv         a lane with len >= M + B keeps its top-M entries by score.
  trimkv-global  once the total over all L*Hkv lanes reaches (M + B)*L*Hkv, K = M*L*Hkv:
                 floor_ratio f == 0: the global top-K survive;
                 f > 0: K' = int(K*(1-f)); c = the lane's entries among the global top-K';
                 each lane keeps its own top-(c + int(M*f)) (all of it when that is >= len).
"""
import numpy as np

POLICIES = ("full", "window", "trimkv", "trimkv-global")


def scores(pos, log_beta, q):
    """s = (q - pos) * logβ in float64 (exact for q < 2**29 and float32 logβ)."""
    pos = np.asarray(pos, dtype=np.int64)
    return (float(q) - pos.astype(np.float64)) * np.asarray(log_beta, dtype=np.float64)


def rank_lane(pos, log_beta, q):
    """Indices of one lane's entries, best first: score desc, then pos desc."""
    pos = np.asarray(pos, dtype=np.int64)
    s = scores(pos, log_beta, q)
    return np.lexsort((-pos, -s))  # lexsort: the LAST key is the primary one


def top_of_lane(pos, log_beta, q, k):
    """Sorted indices of the lane's top-k entries (all of them when k >= len)."""
    n = len(pos)
    if k >= n:
        return np.arange(n, dtype=np.int64)
    return np.sort(rank_lane(pos, log_beta, q)[:max(k, 0)])


def select(policy, lanes_pos, lanes_log_beta, q, budget, buffer=0, sinks=4, floor_ratio=0.0,
           num_kv_heads=1):
    """Survivors of one compress: a list (one per lane) of sorted int64 index arrays.

    lanes_pos / lanes_log_beta: sequences (one per lane, lane = layer*num_kv_heads + head).
    """
    lens = [len(p) for p in lanes_pos]
    keep_all = [np.arange(n, dtype=np.int64) for n in lens]
    if policy == "full":
        return keep_all
    m, b = int(budget), int(buffer)
    if policy == "window":
        out = []
        for n in lens:
            if n < m + b:
                out.append(np.arange(n, dtype=np.int64))
                continue
            s = min(max(int(sinks), 0), m)
            out.append(np.concatenate([np.arange(s), np.arange(n - (m - s), n)]).astype(np.int64))
        return out
    if policy == "trimkv":
        return [top_of_lane(p, lb, q, m) if len(p) >= m + b else np.arange(len(p), dtype=np.int64)
                for p, lb in zip(lanes_pos, lanes_log_beta)]
    if policy == "trimkv-global":
        return _select_global(lanes_pos, lanes_log_beta, q, m, b, float(floor_ratio),
                              int(num_kv_heads))
    raise ValueError(f"unknown kv policy {policy!r} (expected one of {', '.join(POLICIES)})")


def _select_global(lanes_pos, lanes_log_beta, q, m, b, floor_ratio, num_kv_heads):
    num_lanes = len(lanes_pos)
    lens = np.array([len(p) for p in lanes_pos], dtype=np.int64)
    if lens.sum() < (m + b) * num_lanes:
        return [np.arange(n, dtype=np.int64) for n in lens]
    total_k = m * num_lanes
    pos = np.concatenate([np.asarray(p, dtype=np.int64) for p in lanes_pos] + [np.zeros(0, np.int64)])
    lb = np.concatenate([np.asarray(x, dtype=np.float64) for x in lanes_log_beta] + [np.zeros(0)])
    lane = np.repeat(np.arange(num_lanes, dtype=np.int64), lens)
    layer, head = lane // num_kv_heads, lane % num_kv_heads
    s = scores(pos, lb, q)
    order = np.lexsort((head, layer, -pos, -s))  # score desc, pos desc, layer asc, head asc
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    if floor_ratio == 0.0:
        chosen = np.zeros(len(pos), dtype=bool)
        chosen[order[:total_k]] = True
        return [np.nonzero(chosen[starts[i]:starts[i] + lens[i]])[0].astype(np.int64)
                for i in range(num_lanes)]
    adaptive_k = int(total_k * (1.0 - floor_ratio))
    floor = int(m * floor_ratio)
    counts = np.bincount(lane[order[:adaptive_k]], minlength=num_lanes)
    return [top_of_lane(lanes_pos[i], lanes_log_beta[i], q, int(counts[i]) + floor)
            for i in range(num_lanes)]
