// Registry: the daemon's metric families and their Prometheus text exposition (GET /metrics).
//
// A family is a name, a help text, a type and an ordered list of label names; it is created by
// the first counter()/gauge()/histogram() call with its name, and each distinct list of label
// values gets its own child, created on first use. Names are used exactly as given (callers
// pass "vllm:prompt_tokens_total"; no "_total" is appended).
//
//   auto& tokens = registry.counter("vllm:prompt_tokens_total", "Prompt tokens processed.",
//                                   {{"tenant", tenant}});
//   tokens.inc(n);
//
// Contracts (all TS_CHECK, since names are code, not input):
//   - metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and do
//     not start with "__"; label names within one family are distinct; a histogram has no
//     label named "le"; help text is not empty;
//   - every call for a name repeats the family's type, help, label names (same order) and,
//     for histograms, buckets;
//   - no two families produce the same series name (a histogram "x" owns x_bucket, x_sum and
//     x_count, so a counter "x_count" is refused).
// Label values may be any text; they are escaped on output (text_format.h).
//
// Lifetime: families and children are never removed. The reference a call returns stays valid
// for the Registry's life, and the same (name, label values) always returns the same object,
// so hot paths look a child up once and keep the reference (a lookup takes the registry lock
// and builds strings; an update does neither).
//
// Threading: every method may be called from any thread. Updates of children (inc, set, add,
// observe) never take the registry lock. scrape() holds it while it writes the text, so
// creating a new child waits for a scrape in progress. Scrapes are serialized with each
// other, and so are on_scrape callbacks.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "server/metrics/counter.h"
#include "server/metrics/gauge.h"
#include "server/metrics/histogram.h"

namespace trimserve::metrics {

// Label name -> value, in the family's declaration order.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  // `buckets`: finite, strictly increasing upper bounds; the +Inf bucket is implicit.
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& buckets, const Labels& labels = {});

  // Registers a callback that scrape() runs, in registration order, before it writes any
  // text: the place to refresh gauges from live state (KV pool usage, queue lengths). It may
  // create and update children of this registry, and register further callbacks (they run
  // from the next scrape on); it must not call scrape(). It runs on the scraping thread, so
  // it must read live state in a thread-safe way.
  void on_scrape(std::function<void(Registry&)> refresh);

  // The exposition text (content type kTextContentType, text_format.h): for each family,
  // sorted by name, one "# HELP" and one "# TYPE" line, then its children sorted by label
  // values (byte order, first label first). Histograms write _bucket lines (cumulative,
  // le="+Inf" last), then _sum and _count, all from one consistent snapshot per child. No
  // timestamps. Families always have at least one child, so no family is written empty.
  std::string scrape();

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Child;
  struct Family;

  // The child of family `name` for `labels`, creating the family and the child as needed;
  // checks every contract above. Takes mutex_.
  Child& child(const std::string& name, const std::string& help, Kind kind,
               const std::vector<double>& buckets, const Labels& labels);
  // With mutex_ held: the family `name`, created if new, checked against the call.
  Family& family_locked(const std::string& name, const std::string& help, Kind kind,
                        const std::vector<double>& buckets, const Labels& labels);
  // With mutex_ held: the HELP, TYPE and sample lines of one family.
  static void write_family(std::string& out, const std::string& name, const Family& family);

  std::mutex mutex_;  // guards families_ and series_owner_ (the structure, not the values)
  std::map<std::string, std::unique_ptr<Family>> families_;  // sorted: the scrape order
  std::map<std::string, std::string> series_owner_;  // series name -> family that writes it

  std::mutex callbacks_mutex_;  // guards callbacks_
  // Shared so that a scrape can run them from a cheap copy of the list, without the lock.
  std::vector<std::shared_ptr<const std::function<void(Registry&)>>> callbacks_;

  std::mutex scrape_mutex_;  // one scrape (and so one round of callbacks) at a time
};

}  // namespace trimserve::metrics
