#include "server/metrics/registry.h"

#include <algorithm>
#include <set>

#include "common/check.h"
#include "server/metrics/metric_names.h"
#include "server/metrics/text_format.h"

namespace trimserve::metrics {

// One child of a family: exactly one of the pointers is set, matching the family's kind.
struct Registry::Child {
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
};

struct Registry::Family {
  Kind kind;
  std::string help;
  std::vector<std::string> label_names;
  std::vector<double> bounds;  // histograms only, normalized
  // Keyed by label values in label_names order: std::map gives the scrape order, and its
  // nodes (so the children) never move.
  std::map<std::vector<std::string>, Child> children;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Counter& Registry::counter(const std::string& name, const std::string& help,
                           const Labels& labels) {
  return *child(name, help, Kind::kCounter, {}, labels).counter;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  return *child(name, help, Kind::kGauge, {}, labels).gauge;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const std::vector<double>& buckets, const Labels& labels) {
  return *child(name, help, Kind::kHistogram, buckets, labels).histogram;
}

Registry::Child& Registry::child(const std::string& name, const std::string& help, Kind kind,
                                 const std::vector<double>& buckets, const Labels& labels) {
  std::vector<std::string> values;
  values.reserve(labels.size());
  for (const auto& label : labels) values.push_back(label.second);

  std::lock_guard lock(mutex_);
  Family& family = family_locked(name, help, kind, buckets, labels);
  auto [it, inserted] = family.children.try_emplace(std::move(values));
  Child& child = it->second;
  if (inserted) {
    switch (kind) {
      case Kind::kCounter: child.counter = std::make_unique<Counter>(); break;
      case Kind::kGauge: child.gauge = std::make_unique<Gauge>(); break;
      case Kind::kHistogram: child.histogram = std::make_unique<Histogram>(family.bounds); break;
    }
  }
  return child;
}

Registry::Family& Registry::family_locked(const std::string& name, const std::string& help,
                                          Kind kind, const std::vector<double>& buckets,
                                          const Labels& labels) {
  // The message names the metric: a failed check here is a programming error to find fast.
  auto why = [&](const char* what) { return "metric '" + name + "': " + what; };

  if (auto it = families_.find(name); it != families_.end()) {
    Family& family = *it->second;
    TS_CHECK_MSG(family.kind == kind, why("registered before with another type").c_str());
    TS_CHECK_MSG(family.help == help, why("registered before with another help text").c_str());
    bool same_labels = family.label_names.size() == labels.size() &&
                       std::equal(labels.begin(), labels.end(), family.label_names.begin(),
                                  [](const auto& label, const std::string& label_name) {
                                    return label.first == label_name;
                                  });
    TS_CHECK_MSG(same_labels, why("registered before with other label names").c_str());
    if (kind == Kind::kHistogram) {
      TS_CHECK_MSG(family.bounds == Histogram::normalize_bounds(buckets),
                   why("registered before with other buckets").c_str());
    }
    return family;
  }

  TS_CHECK_MSG(is_valid_metric_name(name), why("invalid metric name").c_str());
  TS_CHECK_MSG(!help.empty(), why("help text is empty").c_str());
  auto family = std::make_unique<Family>();
  family->kind = kind;
  family->help = help;
  std::set<std::string> seen;
  for (const auto& label : labels) {
    TS_CHECK_MSG(is_valid_label_name(label.first), why("invalid label name").c_str());
    TS_CHECK_MSG(seen.insert(label.first).second, why("duplicate label name").c_str());
    // A histogram's own "le" label is added to every bucket line.
    TS_CHECK_MSG(kind != Kind::kHistogram || label.first != "le",
                 why("a histogram cannot have a label named \"le\"").c_str());
    family->label_names.push_back(label.first);
  }
  if (kind == Kind::kHistogram) family->bounds = Histogram::normalize_bounds(buckets);

  // Every series name the family will write must be its own, or two families' lines would
  // interleave under one name and the scrape would be rejected.
  std::vector<std::string> series = {name};
  if (kind == Kind::kHistogram) {
    series.insert(series.end(), {name + "_bucket", name + "_sum", name + "_count"});
  }
  for (const std::string& s : series) {
    auto owner = series_owner_.find(s);  // the message (reading owner) is built only on failure
    TS_CHECK_MSG(owner == series_owner_.end(),
                 why(("its series clash with metric '" + owner->second + "'").c_str()).c_str());
  }
  for (const std::string& s : series) series_owner_.emplace(s, name);

  return *families_.emplace(name, std::move(family)).first->second;
}

void Registry::on_scrape(std::function<void(Registry&)> refresh) {
  auto shared = std::make_shared<const std::function<void(Registry&)>>(std::move(refresh));
  std::lock_guard lock(callbacks_mutex_);
  callbacks_.push_back(std::move(shared));
}

std::string Registry::scrape() {
  std::lock_guard scrape_lock(scrape_mutex_);
  // The callbacks run without mutex_ (they create and look up children) and without
  // callbacks_mutex_ (they may register more callbacks).
  std::vector<std::shared_ptr<const std::function<void(Registry&)>>> callbacks;
  {
    std::lock_guard lock(callbacks_mutex_);
    callbacks = callbacks_;
  }
  for (const auto& refresh : callbacks) (*refresh)(*this);

  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) write_family(out, name, *family);
  return out;
}

void Registry::write_family(std::string& out, const std::string& name, const Family& family) {
  out += "# HELP ";
  out += name;
  out += ' ';
  append_escaped_help(out, family.help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  switch (family.kind) {
    case Kind::kCounter: out += "counter"; break;
    case Kind::kGauge: out += "gauge"; break;
    case Kind::kHistogram: out += "histogram"; break;
  }
  out += '\n';

  const std::vector<std::string>& names = family.label_names;
  for (const auto& [values, child] : family.children) {
    switch (family.kind) {
      case Kind::kCounter:
        append_sample_line(out, name, names, values, {}, format_value(child.counter->value()));
        break;
      case Kind::kGauge:
        append_sample_line(out, name, names, values, {}, format_value(child.gauge->value()));
        break;
      case Kind::kHistogram: {
        Histogram::Snapshot snap = child.histogram->snapshot();
        const std::string bucket = name + "_bucket";
        for (size_t i = 0; i < snap.bounds.size(); ++i) {
          append_sample_line(out, bucket, names, values, format_value(snap.bounds[i]),
                             std::to_string(snap.cumulative[i]));
        }
        append_sample_line(out, bucket, names, values, "+Inf",
                           std::to_string(snap.cumulative.back()));
        append_sample_line(out, name + "_sum", names, values, {}, format_value(snap.sum));
        append_sample_line(out, name + "_count", names, values, {}, std::to_string(snap.count));
        break;
      }
    }
  }
}

}  // namespace trimserve::metrics
