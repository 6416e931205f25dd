#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/check.h"

namespace trimserve {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// NaN ranks and samples as -inf, so comparisons below stay a strict weak order.
double key(float x) { return std::isnan(x) ? kNegInf : static_cast<double>(x); }

// Largest logit, ignoring NaN. TS_CHECKs that some entry can be sampled at all and that none
// is +inf (either would make the softmax undefined).
double max_logit(std::span<const float> logits) {
  TS_CHECK(!logits.empty());
  double m = kNegInf;
  for (float x : logits) m = std::max(m, key(x));
  TS_CHECK_MSG(std::isfinite(m), "logits must hold a finite entry and no +inf");
  return m;
}

int32_t argmax(std::span<const float> logits) {
  double best = max_logit(logits);
  // The first index reaching the maximum: ties go to the lowest id.
  for (size_t i = 0; i < logits.size(); ++i) {
    if (key(logits[i]) == best) return static_cast<int32_t>(i);
  }
  TS_CHECK(false);
  return 0;
}

// A penalised finite logit stays finite: a tiny repetition_penalty must not turn a logit
// into +inf (inf - inf would poison the softmax).
float to_finite_float(double x) {
  constexpr double kMax = std::numeric_limits<float>::max();
  return static_cast<float>(std::clamp(x, -kMax, kMax));
}

void check_token(int32_t token, size_t vocab) {
  TS_CHECK(token >= 0 && static_cast<size_t>(token) < vocab);
}

// Turns a penalised logit into an unnormalised probability: weight = p / p_max =
// exp((logit - max) / temperature), in (0, 1]; 0 for a masked token (-inf / NaN), for one
// min_p rejects (weight is relative to the most likely token, exactly min_p's measure), and
// for one whose weight underflows (it could never be drawn).
class Tempering {
 public:
  // Weight bands for the top_p prefilter: a quarter octave each, band 0 = weights in
  // (2^-1/4, 1]; the last band collects everything lighter than 2^-63.
  static constexpr int kNumBands = 256;

  Tempering(std::span<const float> logits, const SamplingParams& params)
      : max_(max_logit(logits)), temperature_(params.temperature), min_p_(params.min_p) {}

  double weight(float logit) const {
    double x = key(logit);
    if (x == kNegInf) return 0.0;
    double w = std::exp((x - max_) / temperature_);
    return w >= min_p_ ? w : 0.0;
  }

  // Band of a token, from its logit alone (no exp); never decreases as the logit falls.
  int band(float logit) const {
    constexpr double kQuartersPerNat = 4.0 / 0.69314718055994530942;  // 4 / ln 2
    double z = (max_ - key(logit)) / temperature_ * kQuartersPerNat;
    return z < kNumBands - 1 ? static_cast<int>(z) : kNumBands - 1;
  }

 private:
  double max_;
  double temperature_;
  double min_p_;
};

// A token still in the running. Ranked by (logit desc, id asc): a total order, and also the
// order of probability, since the weight never decreases as the logit grows.
struct Candidate {
  int32_t id;
  float logit;
  double weight;
};

bool ranks_before(const Candidate& a, const Candidate& b) {
  return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
}

// Whether top_k / top_p can drop anything; if not, sampling streams over the logits.
bool truncates(const SamplingParams& params, size_t vocab) {
  return (params.top_k > 0 && static_cast<size_t>(params.top_k) < vocab) || params.top_p < 1.0;
}

// The k best candidates with a nonzero weight, in id order. One pass with a k-entry heap:
// O(V log k) time, O(k) memory, and only the tokens that enter the heap pay an exp.
std::vector<Candidate> top_k_candidates(std::span<const float> logits, const Tempering& t,
                                        size_t k) {
  std::vector<Candidate> heap;  // worst-ranked on top
  heap.reserve(k + 1);
  for (size_t i = 0; i < logits.size(); ++i) {
    Candidate c{static_cast<int32_t>(i), logits[i], 0.0};
    if (key(c.logit) == kNegInf) continue;
    if (heap.size() == k && !ranks_before(c, heap.front())) continue;
    c.weight = t.weight(c.logit);
    if (c.weight == 0.0) continue;  // below min_p (or underflowed): never a survivor
    heap.push_back(c);
    std::push_heap(heap.begin(), heap.end(), ranks_before);
    if (heap.size() > k) {
      std::pop_heap(heap.begin(), heap.end(), ranks_before);
      heap.pop_back();
    }
  }
  // The heap's layout differs between standard libraries; id order does not.
  std::sort(heap.begin(), heap.end(),
            [](const Candidate& a, const Candidate& b) { return a.id < b.id; });
  return heap;
}

// Pivot positions for the top_p quickselect: pseudo-random (expected O(n) on any input) yet
// fixed, so the arrangement it leaves, and the order masses are summed in, is the same on
// every machine (std::nth_element's is not). A 64-bit LCG (Knuth's MMIX constants).
class PivotSequence {
 public:
  size_t next(size_t n) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<size_t>((state_ >> 33) % n);
  }

 private:
  uint64_t state_ = 0x9E3779B97F4A7C15ULL;
};

// Lomuto partition of work[lo, hi) around work[pivot]: afterwards [lo, p) ranks before
// work[p] and (p, hi) after it. Returns p.
size_t partition(std::vector<Candidate>& work, size_t lo, size_t hi, size_t pivot) {
  std::swap(work[pivot], work[hi - 1]);
  const Candidate pv = work[hi - 1];
  size_t store = lo;
  for (size_t i = lo; i + 1 < hi; ++i) {
    if (ranks_before(work[i], pv)) std::swap(work[i], work[store++]);
  }
  std::swap(work[store], work[hi - 1]);
  return store;
}

// top_p by a mass-weighted quickselect: reorders cands so that the nucleus (the shortest
// most-likely-first run whose mass reaches `target`) comes first, and returns its size.
// Expected O(n); no sort.
size_t select_nucleus(std::vector<Candidate>& cands, double target) {
  PivotSequence pivots;
  size_t lo = 0;
  size_t hi = cands.size();
  double before = 0.0;  // mass of cands[0, lo), all ranked before cands[lo, hi)
  while (lo < hi) {
    size_t p = partition(cands, lo, hi, lo + pivots.next(hi - lo));
    double mass = 0.0;
    for (size_t i = lo; i < p; ++i) mass += cands[i].weight;
    if (before + mass >= target) {
      hi = p;  // the boundary ranks before this pivot
      continue;
    }
    before += mass + cands[p].weight;
    if (before >= target) return p + 1;
    lo = p + 1;
  }
  // Summing in another order fell just short: the pivot that closed the range from above
  // (if any) is where the mass was reached.
  return std::min(hi + 1, cands.size());
}

// The candidates top_p can keep when top_k is off, without an entry for every token: one
// pass adds each token's weight to `total` and to its band's mass; the most likely bands
// whose mass reaches the target hold the whole nucleus (bands are a most-likely-first
// prefix), so a second pass collects only them. Peaked distributions leave a handful.
std::vector<Candidate> nucleus_bands(std::span<const float> logits, const Tempering& t,
                                     double top_p, double* total) {
  std::vector<double> band_mass(Tempering::kNumBands, 0.0);
  *total = 0.0;
  for (float x : logits) {
    double w = t.weight(x);
    if (w == 0.0) continue;
    *total += w;
    band_mass[t.band(x)] += w;
  }
  int last_band = Tempering::kNumBands - 1;
  double cum = 0.0;
  for (int b = 0; b < Tempering::kNumBands; ++b) {
    cum += band_mass[b];
    if (cum >= top_p * *total) {
      last_band = b;
      break;
    }
  }
  std::vector<Candidate> cands;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (t.band(logits[i]) > last_band) continue;
    double w = t.weight(logits[i]);
    if (w > 0.0) cands.push_back({static_cast<int32_t>(i), logits[i], w});
  }
  return cands;
}

// Steps 3-4 when top_k or top_p truncate: the survivors with their weights, in a fixed order
// (id order, or the order select_nucleus leaves).
std::vector<Candidate> survivors(std::span<const float> logits, const SamplingParams& params) {
  Tempering t(logits, params);
  const int32_t k = params.top_k;
  const bool top_k_on = k > 0 && static_cast<size_t>(k) < logits.size();
  std::vector<Candidate> cands;
  double total = 0.0;
  if (top_k_on) {
    cands = top_k_candidates(logits, t, static_cast<size_t>(k));
    for (const Candidate& c : cands) total += c.weight;
  } else {
    TS_CHECK(params.top_p < 1.0);  // else sampling streams and never gets here
    cands = nucleus_bands(logits, t, params.top_p, &total);
  }
  TS_CHECK(!cands.empty());  // the most likely token (weight 1) survives every filter
  if (params.top_p < 1.0) cands.resize(select_nucleus(cands, params.top_p * total));
  return cands;
}

}  // namespace

SampleResult compute_logprobs(std::span<const float> logits, int32_t token, int32_t num_top) {
  check_token(token, logits.size());
  TS_CHECK(num_top >= 0);
  double m = max_logit(logits);
  double sum = 0.0;
  for (float x : logits) sum += std::exp(key(x) - m);
  double log_z = m + std::log(sum);  // sum >= 1: the max contributes exp(0)

  SampleResult result;
  result.token = token;
  result.logprob = static_cast<float>(key(logits[token]) - log_z);

  // The num_top best in one pass over V, kept sorted in a buffer of num_top ids (at most
  // kMaxTopLogprobs in practice): most tokens fail the first comparison with its worst entry.
  size_t n = std::min(static_cast<size_t>(num_top), logits.size());
  auto better = [&](int32_t a, int32_t b) {
    double ka = key(logits[a]);
    double kb = key(logits[b]);
    return ka != kb ? ka > kb : a < b;
  };
  std::vector<int32_t> top;
  top.reserve(n + 1);
  for (size_t i = 0; i < logits.size() && n > 0; ++i) {
    int32_t id = static_cast<int32_t>(i);
    if (top.size() == n && !better(id, top.back())) continue;
    top.insert(std::upper_bound(top.begin(), top.end(), id, better), id);
    if (top.size() > n) top.pop_back();
  }
  result.top_logprobs.reserve(n);
  for (int32_t id : top) {
    result.top_logprobs.push_back({id, static_cast<float>(key(logits[id]) - log_z)});
  }
  return result;
}

Sampler::Sampler(const SamplingParams& params) : params_(params) {
  TS_CHECK(params_.temperature >= 0.0);
  TS_CHECK(params_.top_p > 0.0 && params_.top_p <= 1.0);
  TS_CHECK(params_.min_p >= 0.0 && params_.min_p <= 1.0);
  TS_CHECK(params_.repetition_penalty > 0.0);
  TS_CHECK(params_.top_k >= -1);
  if (params_.seed) {
    seed_ = *params_.seed;
  } else {
    std::random_device device;  // 32 bits per call
    seed_ = (static_cast<uint64_t>(device()) << 32) ^ device();
  }
  rng_.seed(seed_);
}

bool Sampler::has_penalties() const {
  return params_.repetition_penalty != 1.0 || params_.frequency_penalty != 0.0 ||
         params_.presence_penalty != 0.0;
}

void Sampler::apply_penalties(std::span<float> logits, std::span<const int32_t> prompt_tokens,
                              std::span<const int32_t> output_tokens) const {
  const size_t vocab = logits.size();
  if (params_.repetition_penalty != 1.0) {
    // Each distinct token is penalised once, however often it occurs.
    std::vector<uint8_t> seen(vocab, 0);
    const double penalty = params_.repetition_penalty;
    auto penalise = [&](int32_t t) {
      check_token(t, vocab);
      if (seen[t]) return;
      seen[t] = 1;
      double x = logits[t];
      if (std::isfinite(x)) logits[t] = to_finite_float(x > 0.0 ? x / penalty : x * penalty);
    };
    for (int32_t t : prompt_tokens) penalise(t);
    for (int32_t t : output_tokens) penalise(t);
  }
  if (params_.frequency_penalty != 0.0 || params_.presence_penalty != 0.0) {
    // Counting by sorting the output (max_tokens long) avoids a [V] count table.
    std::vector<int32_t> sorted(output_tokens.begin(), output_tokens.end());
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size();) {
      size_t j = i;
      while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
      int32_t t = sorted[i];
      check_token(t, vocab);
      double count = static_cast<double>(j - i);
      double x = logits[t];
      if (std::isfinite(x)) {
        logits[t] = to_finite_float(x - params_.frequency_penalty * count -
                                    params_.presence_penalty);
      }
      i = j;
    }
  }
}

std::span<const float> Sampler::penalized(std::span<const float> logits,
                                          std::span<const int32_t> prompt_tokens,
                                          std::span<const int32_t> output_tokens,
                                          std::vector<float>& buf) const {
  if (!has_penalties()) return logits;
  buf.assign(logits.begin(), logits.end());
  apply_penalties(buf, prompt_tokens, output_tokens);
  return buf;
}

double Sampler::next_uniform() {
  // 53 random bits scaled by 2^-53: every double in [0, 1) on a 2^-53 grid, equally likely.
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> prompt_tokens,
                        std::span<const int32_t> output_tokens) {
  std::vector<float> buf;
  std::span<const float> x = penalized(logits, prompt_tokens, output_tokens, buf);
  if (is_greedy(params_)) return argmax(x);

  if (!truncates(params_, x.size())) {
    // Nothing to select: two streaming passes over the logits, no [V] scratch.
    Tempering t(x, params_);
    double total = 0.0;
    for (float v : x) total += t.weight(v);
    const double target = next_uniform() * total;
    double cum = 0.0;
    int32_t last = -1;
    for (size_t i = 0; i < x.size(); ++i) {
      double w = t.weight(x[i]);
      if (w == 0.0) continue;
      cum += w;
      last = static_cast<int32_t>(i);
      if (cum > target) return last;
    }
    return last;  // target landed past the rounded sum
  }

  std::vector<Candidate> cands = survivors(x, params_);
  double total = 0.0;
  for (const Candidate& c : cands) total += c.weight;
  const double target = next_uniform() * total;
  double cum = 0.0;
  for (const Candidate& c : cands) {
    cum += c.weight;
    if (cum > target) return c.id;
  }
  return cands.back().id;  // target landed past the rounded sum
}

SampleResult Sampler::sample_with_logprobs(std::span<const float> logits,
                                           std::span<const int32_t> prompt_tokens,
                                           std::span<const int32_t> output_tokens) {
  int32_t token = sample(logits, prompt_tokens, output_tokens);
  return compute_logprobs(logits, token, params_.top_logprobs);
}

std::vector<double> Sampler::distribution(std::span<const float> logits,
                                          std::span<const int32_t> prompt_tokens,
                                          std::span<const int32_t> output_tokens) const {
  std::vector<float> buf;
  std::span<const float> x = penalized(logits, prompt_tokens, output_tokens, buf);
  std::vector<double> probs(logits.size(), 0.0);
  if (is_greedy(params_)) {
    probs[argmax(x)] = 1.0;
    return probs;
  }
  if (!truncates(params_, x.size())) {
    Tempering t(x, params_);
    double total = 0.0;
    for (size_t i = 0; i < x.size(); ++i) total += probs[i] = t.weight(x[i]);
    for (double& p : probs) p /= total;
    return probs;
  }
  std::vector<Candidate> cands = survivors(x, params_);
  double total = 0.0;
  for (const Candidate& c : cands) total += c.weight;
  for (const Candidate& c : cands) probs[c.id] = c.weight / total;
  return probs;
}

}  // namespace trimserve
