#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include <catch2/catch.hpp>

using namespace trimserve;

namespace {

using Tokens = std::vector<int32_t>;
const Tokens kNone;

// Reference softmax of logits / temperature, in double, written independently of the sampler.
std::vector<double> softmax(const std::vector<float>& logits, double temperature = 1.0) {
  double m = -std::numeric_limits<double>::infinity();
  for (float x : logits) m = std::max(m, static_cast<double>(x));
  std::vector<double> p(logits.size());
  double z = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    p[i] = std::exp((logits[i] - m) / temperature);
    z += p[i];
  }
  for (double& x : p) x /= z;
  return p;
}

// Keeps only `allowed` and renormalises.
std::vector<double> restrict_to(const std::vector<double>& p, const std::set<int32_t>& allowed) {
  std::vector<double> q(p.size(), 0.0);
  double z = 0.0;
  for (int32_t i : allowed) z += p[i];
  for (int32_t i : allowed) q[i] = p[i] / z;
  return q;
}

// Token ids by descending score, ties to the lower id.
template <class T>
std::vector<int32_t> most_likely_first(const std::vector<T>& score) {
  std::vector<int32_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return score[a] > score[b]; });
  return order;
}

// The top_p nucleus by its definition: a token is kept iff the mass strictly before it
// (most likely first) is below top_p.
std::set<int32_t> nucleus(const std::vector<double>& probs, double top_p) {
  std::set<int32_t> allowed;
  double before = 0.0;
  for (int32_t id : most_likely_first(probs)) {
    if (before >= top_p) break;
    allowed.insert(id);
    before += probs[id];
  }
  return allowed;
}

std::vector<float> random_logits(size_t vocab, uint32_t seed, float scale = 3.0f) {
  std::mt19937 gen(seed);
  std::vector<float> logits(vocab);
  // Distinct values on a coarse grid, so no test depends on tie-breaking by accident.
  std::vector<int> grid(vocab);
  std::iota(grid.begin(), grid.end(), 0);
  std::shuffle(grid.begin(), grid.end(), gen);
  for (size_t i = 0; i < vocab; ++i) logits[i] = scale * static_cast<float>(grid[i]) / vocab;
  return logits;
}

std::vector<int64_t> draw_counts(Sampler& sampler, const std::vector<float>& logits, int n) {
  std::vector<int64_t> counts(logits.size(), 0);
  for (int i = 0; i < n; ++i) ++counts[sampler.sample(logits, kNone, kNone)];
  return counts;
}

// Pearson chi-square statistic over the categories with p > 0; a draw of a p == 0 category
// makes it infinite.
double chi_square(const std::vector<int64_t>& counts, const std::vector<double>& p, int n,
                  int* dof) {
  double stat = 0.0;
  int categories = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0.0) {
      if (counts[i] > 0) return std::numeric_limits<double>::infinity();
      continue;
    }
    double expected = p[i] * n;
    stat += (counts[i] - expected) * (counts[i] - expected) / expected;
    ++categories;
  }
  *dof = categories - 1;
  return stat;
}

// Upper 1e-6 quantile of chi-square(dof), Wilson-Hilferty approximation. The draws are
// deterministic (fixed seed); this threshold makes "passes" mean "indistinguishable from
// the exact distribution at p = 1e-6".
double chi_square_critical(int dof) {
  const double z = 4.753424;  // standard normal upper 1e-6 quantile
  double k = dof;
  double c = 1.0 - 2.0 / (9.0 * k) + z * std::sqrt(2.0 / (9.0 * k));
  return k * c * c * c;
}

void check_frequencies(Sampler& sampler, const std::vector<float>& logits,
                       const std::vector<double>& expected, int n = 20000) {
  std::vector<int64_t> counts = draw_counts(sampler, logits, n);
  int dof = 0;
  double stat = chi_square(counts, expected, n, &dof);
  INFO("chi-square " << stat << " with " << dof << " degrees of freedom");
  REQUIRE(dof >= 1);
  CHECK(stat < chi_square_critical(dof));
}

// Exactly the same support, and the same probabilities to 1e-9 relative. One assertion per
// call (vocabularies here reach 152k entries), naming the first differing token.
void check_distribution(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  size_t mismatches = 0;
  size_t first = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    bool same = want[i] == 0.0 ? got[i] == 0.0 : got[i] == Approx(want[i]).epsilon(1e-9);
    if (!same && mismatches++ == 0) first = i;
  }
  INFO("first mismatch: token " << first << " got " << got[first] << " want " << want[first]);
  CHECK(mismatches == 0);
}

SamplingParams seeded(uint64_t seed) {
  SamplingParams p;
  p.seed = seed;
  return p;
}

}  // namespace

TEST_CASE("greedy picks the argmax, ties to the lowest id", "[sampler]") {
  SamplingParams p = seeded(1);
  p.temperature = 0.0;
  Sampler sampler(p);
  std::vector<float> logits = {0.5f, 2.0f, -1.0f, 1.9f};
  CHECK(sampler.sample(logits, kNone, kNone) == 1);
  std::vector<float> tied = {0.5f, 3.0f, -1.0f, 3.0f};
  CHECK(sampler.sample(tied, kNone, kNone) == 1);
  std::vector<float> with_nan = {std::nanf(""), 0.0f, 1.0f};
  CHECK(sampler.sample(with_nan, kNone, kNone) == 2);
  // Below kGreedyTemperature counts as greedy too, and the distribution is one-hot.
  p.temperature = 1e-6;
  Sampler tiny(p);
  CHECK(tiny.sample(logits, kNone, kNone) == 1);
  check_distribution(tiny.distribution(logits, kNone, kNone), {0, 1, 0, 0});
}

TEST_CASE("greedy ignores top_k / top_p / min_p and does not consume the RNG", "[sampler]") {
  SamplingParams p = seeded(5);
  p.temperature = 0.0;
  p.top_k = 1;
  p.top_p = 0.1;
  p.min_p = 0.9;
  Sampler greedy(p);
  std::vector<float> logits = random_logits(100, 3);
  int32_t best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) -
                                      logits.begin());
  for (int i = 0; i < 10; ++i) CHECK(greedy.sample(logits, kNone, kNone) == best);
}

TEST_CASE("temperature sampling matches the exact softmax", "[sampler]") {
  std::vector<float> logits = {1.0f, 2.0f, 0.5f, -1.0f, 3.0f, 0.0f, 2.5f, 1.5f};
  for (double temperature : {1.0, 0.7, 1.8}) {
    INFO("temperature " << temperature);
    SamplingParams p = seeded(1234);
    p.temperature = temperature;
    Sampler sampler(p);
    std::vector<double> want = softmax(logits, temperature);
    check_distribution(sampler.distribution(logits, kNone, kNone), want);
    check_frequencies(sampler, logits, want);
  }
}

TEST_CASE("the frequency test has power: a wrong temperature fails it", "[sampler]") {
  std::vector<float> logits = {1.0f, 2.0f, 0.5f, -1.0f, 3.0f, 0.0f, 2.5f, 1.5f};
  SamplingParams p = seeded(99);
  p.temperature = 1.0;
  Sampler sampler(p);
  const int n = 20000;
  std::vector<int64_t> counts = draw_counts(sampler, logits, n);
  int dof = 0;
  double stat = chi_square(counts, softmax(logits, 0.8), n, &dof);
  CHECK(stat > chi_square_critical(dof));
}

TEST_CASE("masked (-inf) and NaN logits are never sampled", "[sampler]") {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> logits = {-inf, 0.0f, -inf, 0.0f, std::nanf("")};
  Sampler sampler(seeded(3));
  check_distribution(sampler.distribution(logits, kNone, kNone), {0, 0.5, 0, 0.5, 0});
  check_frequencies(sampler, logits, {0, 0.5, 0, 0.5, 0}, 2000);
}

TEST_CASE("top_k keeps exactly the k most likely tokens and renormalises", "[sampler]") {
  std::vector<float> logits = random_logits(40, 11);
  SamplingParams p = seeded(7);
  p.top_k = 5;
  p.temperature = 0.5;
  Sampler sampler(p);
  std::vector<int32_t> order = most_likely_first(logits);
  std::set<int32_t> allowed(order.begin(), order.begin() + 5);
  std::vector<double> want = restrict_to(softmax(logits, 0.5), allowed);
  check_distribution(sampler.distribution(logits, kNone, kNone), want);
  check_frequencies(sampler, logits, want);
}

TEST_CASE("top_k breaks ties at the boundary toward the lower id", "[sampler]") {
  std::vector<float> logits = {1.0f, 2.0f, 1.0f, 1.0f, 0.0f};
  SamplingParams p = seeded(7);
  p.top_k = 2;
  Sampler sampler(p);
  check_distribution(sampler.distribution(logits, kNone, kNone),
                     restrict_to(softmax(logits), {0, 1}));
  p.top_k = 100;  // larger than V: no filtering
  Sampler wide(p);
  check_distribution(wide.distribution(logits, kNone, kNone), softmax(logits));
}

TEST_CASE("top_p keeps the smallest head reaching the mass", "[sampler]") {
  std::vector<float> logits = random_logits(30, 5, 6.0f);
  for (double top_p : {0.3, 0.75, 0.95}) {
    INFO("top_p " << top_p);
    SamplingParams p = seeded(21);
    p.top_p = top_p;
    Sampler sampler(p);
    std::vector<double> probs = softmax(logits);
    std::set<int32_t> allowed = nucleus(probs, top_p);
    REQUIRE(allowed.size() < logits.size());
    std::vector<double> want = restrict_to(probs, allowed);
    check_distribution(sampler.distribution(logits, kNone, kNone), want);
    check_frequencies(sampler, logits, want);
  }
}

TEST_CASE("top_p over a flat distribution breaks ties by id", "[sampler]") {
  // 1000 equal logits: the nucleus for 0.5 is exactly the 500 lowest ids.
  std::vector<float> logits(1000, 0.25f);
  SamplingParams p = seeded(2);
  p.top_p = 0.5;
  Sampler sampler(p);
  std::vector<double> got = sampler.distribution(logits, kNone, kNone);
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("token " << i);
    CHECK(got[i] == (i < 500 ? Approx(1.0 / 500) : Approx(0.0)));
  }
}

TEST_CASE("min_p keeps tokens with p >= min_p * p_max", "[sampler]") {
  std::vector<float> logits = random_logits(25, 8, 5.0f);
  SamplingParams p = seeded(4);
  p.min_p = 0.1;
  p.temperature = 0.9;
  Sampler sampler(p);
  std::vector<double> probs = softmax(logits, 0.9);
  double p_max = *std::max_element(probs.begin(), probs.end());
  std::set<int32_t> allowed;
  for (int32_t i = 0; i < static_cast<int32_t>(probs.size()); ++i) {
    if (probs[i] >= 0.1 * p_max) allowed.insert(i);
  }
  REQUIRE(allowed.size() > 1);
  REQUIRE(allowed.size() < logits.size());
  std::vector<double> want = restrict_to(probs, allowed);
  check_distribution(sampler.distribution(logits, kNone, kNone), want);
  check_frequencies(sampler, logits, want);
}

TEST_CASE("min_p, top_k and top_p compose in that order", "[sampler]") {
  // probs ∝ 8, 4, 2, 1, 1/2, ... (logits log2-spaced).
  std::vector<float> logits;
  for (int i = 0; i < 8; ++i) logits.push_back(static_cast<float>((7 - i) * std::log(2.0)));
  SamplingParams p = seeded(9);
  p.min_p = 0.05;  // drops 2^-5 and below relative to the max: ids 5, 6, 7
  p.top_k = 4;     // keeps ids 0..3 (masses 8, 4, 2, 1 of 15)
  p.top_p = 0.85;  // of the renormalised 8/15, 4/15, 2/15, 1/15: 0.53, 0.8, 0.93 -> ids 0..2
  Sampler sampler(p);
  std::vector<double> want = restrict_to(softmax(logits), {0, 1, 2});
  check_distribution(sampler.distribution(logits, kNone, kNone), want);
  check_frequencies(sampler, logits, want);
}

TEST_CASE("repetition penalty divides positive and multiplies negative logits", "[sampler]") {
  SamplingParams p = seeded(1);
  p.repetition_penalty = 2.0;
  Sampler sampler(p);
  std::vector<float> logits = {4.0f, -1.0f, 3.0f, 0.0f, 1.0f};
  // Prompt and output both count; a repeated token is penalised once.
  Tokens prompt = {0, 1, 0};
  Tokens output = {3, 0};
  sampler.apply_penalties(logits, prompt, output);
  CHECK(logits == std::vector<float>{2.0f, -2.0f, 3.0f, 0.0f, 1.0f});

  p.temperature = 0.0;
  Sampler greedy(p);
  std::vector<float> raw = {4.0f, -1.0f, 3.0f, 0.0f, 1.0f};
  CHECK(greedy.sample(raw, kNone, kNone) == 0);
  CHECK(greedy.sample(raw, prompt, kNone) == 2);  // 4/2 = 2 < 3
  CHECK(greedy.sample(raw, kNone, Tokens{0}) == 2);
}

TEST_CASE("frequency penalty scales with the output count", "[sampler]") {
  SamplingParams p = seeded(1);
  p.frequency_penalty = 0.5;
  Sampler sampler(p);
  std::vector<float> logits = {4.0f, 3.0f, 1.0f};
  // Prompt tokens do not count for frequency or presence.
  sampler.apply_penalties(logits, Tokens{1, 1, 1, 1}, Tokens{0, 2, 0, 0});
  CHECK(logits[0] == Approx(4.0 - 0.5 * 3));
  CHECK(logits[1] == 3.0f);
  CHECK(logits[2] == Approx(1.0 - 0.5 * 1));

  p.temperature = 0.0;
  Sampler greedy(p);
  std::vector<float> raw = {4.0f, 3.0f, 1.0f};
  CHECK(greedy.sample(raw, kNone, Tokens{0}) == 0);        // 3.5 > 3
  CHECK(greedy.sample(raw, kNone, Tokens{0, 0, 0}) == 1);  // 2.5 < 3
}

TEST_CASE("presence penalty is a flat offset for tokens already output", "[sampler]") {
  SamplingParams p = seeded(1);
  p.presence_penalty = 1.5;
  Sampler sampler(p);
  std::vector<float> logits = {4.0f, 3.0f, 1.0f};
  sampler.apply_penalties(logits, Tokens{2}, Tokens{0, 0, 0, 1});
  CHECK(logits == std::vector<float>{2.5f, 1.5f, 1.0f});

  p.temperature = 0.0;
  Sampler greedy(p);
  std::vector<float> raw = {4.0f, 3.0f, 1.0f};
  CHECK(greedy.sample(raw, kNone, Tokens{0}) == 1);
  // A negative presence penalty rewards repetition instead.
  p.presence_penalty = -2.0;
  Sampler eager(p);
  CHECK(eager.sample(raw, kNone, Tokens{1}) == 1);  // 3 + 2 > 4
}

TEST_CASE("penalties apply in vLLM's order: repetition, frequency, presence", "[sampler]") {
  SamplingParams p = seeded(1);
  p.repetition_penalty = 2.0;
  p.frequency_penalty = 0.25;
  p.presence_penalty = 0.5;
  Sampler sampler(p);
  std::vector<float> logits = {3.0f, -3.0f};
  sampler.apply_penalties(logits, kNone, Tokens{0, 0, 1});
  CHECK(logits[0] == Approx(3.0 / 2 - 0.25 * 2 - 0.5));
  CHECK(logits[1] == Approx(-3.0 * 2 - 0.25 * 1 - 0.5));
  // And the sampled distribution is built from the penalised logits.
  std::vector<float> raw = {3.0f, -3.0f};
  check_distribution(sampler.distribution(raw, kNone, Tokens{0, 0, 1}), softmax(logits));
}

TEST_CASE("same seed gives the same tokens, a different seed different ones", "[sampler]") {
  std::vector<float> logits = random_logits(500, 17, 4.0f);
  SamplingParams p = seeded(42);
  p.top_k = 100;
  p.top_p = 0.9;
  auto run = [&](uint64_t seed) {
    p.seed = seed;
    Sampler sampler(p);
    Tokens out;
    for (int i = 0; i < 64; ++i) out.push_back(sampler.sample(logits, kNone, kNone));
    return out;
  };
  CHECK(run(42) == run(42));
  CHECK(run(42) != run(43));
  p.seed = 43;
  Sampler s(p);
  CHECK(s.seed() == 43);
}

TEST_CASE("draws follow the documented mt19937_64 inverse-CDF recipe", "[sampler]") {
  // Re-derives each token from the specified algorithm: 53 top bits of one mt19937_64 draw
  // scaled to [0, 1), then the first token (in id order, no filters) whose running weight
  // exceeds u * total. Locks the recipe that makes seeds reproducible across machines.
  std::vector<float> logits = {0.3f, -0.2f, 1.1f, 0.0f, 0.9f, -1.4f};
  SamplingParams p = seeded(20240601);
  Sampler sampler(p);
  std::mt19937_64 rng(20240601);
  std::vector<double> w = softmax(logits);
  for (int i = 0; i < 200; ++i) {
    double u = static_cast<double>(rng() >> 11) / 9007199254740992.0;  // 2^53
    double total = std::accumulate(w.begin(), w.end(), 0.0);
    double cum = 0.0;
    int32_t want = static_cast<int32_t>(w.size()) - 1;
    for (size_t j = 0; j < w.size(); ++j) {
      cum += w[j];
      if (cum > u * total) {
        want = static_cast<int32_t>(j);
        break;
      }
    }
    INFO("draw " << i << " u " << u);
    CHECK(sampler.sample(logits, kNone, kNone) == want);
  }
}

TEST_CASE("an unseeded sampler draws its own seed", "[sampler]") {
  Sampler a{SamplingParams{}};
  Sampler b{SamplingParams{}};
  CHECK(a.seed() != b.seed());  // 64 random bits each: equal with probability 2^-64
}

TEST_CASE("logprobs are the raw log-softmax", "[sampler]") {
  std::vector<float> logits = random_logits(300, 23, 8.0f);
  std::vector<double> ref(logits.size());
  {
    double m = *std::max_element(logits.begin(), logits.end());
    double z = 0.0;
    for (float x : logits) z += std::exp(x - m);
    for (size_t i = 0; i < logits.size(); ++i) ref[i] = logits[i] - m - std::log(z);
  }
  SamplingParams p = seeded(8);
  p.temperature = 0.3;  // neither temperature nor penalties change the reported logprobs
  p.repetition_penalty = 1.7;
  p.top_k = 3;
  p.logprobs = true;
  p.top_logprobs = 5;
  Sampler sampler(p);
  Tokens prompt = {1, 2, 3};
  for (int i = 0; i < 20; ++i) {
    SampleResult r = sampler.sample_with_logprobs(logits, prompt, kNone);
    CHECK(r.logprob == Approx(ref[r.token]).margin(1e-5));
    REQUIRE(r.top_logprobs.size() == 5);
    std::vector<int32_t> order = most_likely_first(ref);
    for (size_t k = 0; k < 5; ++k) {
      CHECK(r.top_logprobs[k].token == order[k]);
      CHECK(r.top_logprobs[k].logprob == Approx(ref[order[k]]).margin(1e-5));
    }
  }
}

TEST_CASE("compute_logprobs orders ties by id and clamps to V", "[sampler]") {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> logits = {0.0f, 1.0f, 1.0f, -inf};
  SampleResult r = compute_logprobs(logits, 3, 10);
  CHECK(r.token == 3);
  CHECK(r.logprob == -inf);
  REQUIRE(r.top_logprobs.size() == 4);
  CHECK(r.top_logprobs[0].token == 1);
  CHECK(r.top_logprobs[1].token == 2);
  CHECK(r.top_logprobs[2].token == 0);
  CHECK(r.top_logprobs[3].token == 3);
  double log_z = std::log(1.0 + 2.0 * std::exp(1.0));
  CHECK(r.top_logprobs[0].logprob == Approx(1.0 - log_z));
  CHECK(r.top_logprobs[2].logprob == Approx(-log_z));
  CHECK(compute_logprobs(logits, 0, 0).top_logprobs.empty());
}

TEST_CASE("a Qwen-sized vocabulary: top_p and large top_k match a direct computation",
          "[sampler]") {
  const size_t vocab = 151936;
  std::vector<float> logits = random_logits(vocab, 37, 25.0f);
  // A few strong tokens over a broad tail, as language models produce.
  for (int i = 0; i < 8; ++i) logits[(i * 7919) % vocab] += 20.0f + i;
  std::vector<int32_t> order = most_likely_first(logits);
  for (double temperature : {0.7, 1.5}) {
    std::vector<double> probs = softmax(logits, temperature);
    for (double top_p : {0.5, 0.9, 0.99}) {
      INFO("temperature " << temperature << " top_p " << top_p);
      SamplingParams p = seeded(5);
      p.temperature = temperature;
      p.top_p = top_p;
      Sampler sampler(p);
      check_distribution(sampler.distribution(logits, kNone, kNone),
                         restrict_to(probs, nucleus(probs, top_p)));
    }
    SamplingParams p = seeded(5);
    p.temperature = temperature;
    p.top_k = 5000;
    Sampler sampler(p);
    std::set<int32_t> allowed(order.begin(), order.begin() + 5000);
    check_distribution(sampler.distribution(logits, kNone, kNone), restrict_to(probs, allowed));
  }
}

TEST_CASE("a Qwen-sized vocabulary samples correctly under every filter", "[sampler]") {
  const size_t vocab = 151936;
  std::vector<float> logits = random_logits(vocab, 31, 20.0f);
  SamplingParams p = seeded(77);
  p.top_k = 50;
  p.top_p = 0.9;
  p.min_p = 0.01;
  p.repetition_penalty = 1.1;
  p.frequency_penalty = 0.2;
  Sampler sampler(p);
  Tokens prompt = {10, 20, 30};
  Tokens output;
  std::vector<double> dist = sampler.distribution(logits, prompt, output);
  CHECK(std::accumulate(dist.begin(), dist.end(), 0.0) == Approx(1.0));
  size_t support = std::count_if(dist.begin(), dist.end(), [](double x) { return x > 0; });
  CHECK(support >= 1);
  CHECK(support <= 50);
  for (int i = 0; i < 32; ++i) {
    int32_t t = sampler.sample(logits, prompt, output);
    CHECK(t >= 0);
    CHECK(t < static_cast<int32_t>(vocab));
    output.push_back(t);
  }
}
