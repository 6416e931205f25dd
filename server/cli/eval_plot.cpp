#include "server/cli/eval_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <vector>

namespace trimserve::cli {

namespace {

constexpr double kWidth = 720, kHeight = 440;
constexpr double kLeft = 72, kRight = kWidth - 180, kTop = 48, kBottom = kHeight - 64;

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", std::fabs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

const char* color_of(KvPolicy p) {
  switch (p) {
    case KvPolicy::kFull:
      return "#444444";
    case KvPolicy::kWindow:
      return "#1f77b4";
    case KvPolicy::kTrimKv:
      return "#ff7f0e";
    case KvPolicy::kTrimKvGlobal:
      return "#2ca02c";
  }
  return "#000000";
}

// A 1-2-5 step that cuts `range` into about `n` intervals.
double nice_step(double range, int n) {
  const double raw = range / n;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10 * p;
}

struct Axis {
  double lo, hi;        // data range
  double px_lo, px_hi;  // pixel range (px_lo at lo)
  double at(double v) const { return px_lo + (v - lo) / (hi - lo) * (px_hi - px_lo); }
};

}  // namespace

std::string eval_svg(const EvalRun& run) {
  const bool recall = run.task == EvalTask::kRecall;
  // x: log2 of the budgets (the --budgets list, so `full` alone still has an axis).
  std::vector<int64_t> budgets = run.budgets;
  for (const ConfigResult& r : run.results) {
    if (r.config.budget) budgets.push_back(*r.config.budget);
  }
  if (budgets.empty()) budgets.push_back(1);
  std::sort(budgets.begin(), budgets.end());
  budgets.erase(std::unique(budgets.begin(), budgets.end()), budgets.end());
  double xlo = std::log2(static_cast<double>(budgets.front()));
  double xhi = std::log2(static_cast<double>(budgets.back()));
  const double xpad = xhi > xlo ? 0.06 * (xhi - xlo) : 0.5;
  const Axis x{xlo - xpad, xhi + xpad, kLeft, kRight};

  // y: accuracy 0..1 (a little margin, so a line at 0 or 1 is not hidden by the axis);
  // perplexity padded around the values.
  double ylo = -0.04, yhi = 1.04;
  if (!recall) {
    ylo = INFINITY;
    yhi = -INFINITY;
    for (const ConfigResult& r : run.results) {
      ylo = std::min(ylo, r.quality());
      yhi = std::max(yhi, r.quality());
    }
    if (!std::isfinite(ylo) || !std::isfinite(yhi)) {
      ylo = 0;
      yhi = 1;
    }
    const double span = yhi - ylo;
    const double pad = span > 1e-9 * std::max(1.0, std::fabs(yhi))
                           ? 0.08 * span
                           : std::max(0.05 * std::fabs(yhi), 1e-3);
    ylo -= pad;
    yhi += pad;
  }
  const Axis y{ylo, yhi, kBottom, kTop};

  std::string s;
  s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kWidth) + "\" height=\"" +
       num(kHeight) + "\" viewBox=\"0 0 " + num(kWidth) + " " + num(kHeight) +
       "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + num(kWidth) + "\" height=\"" + num(kHeight) +
       "\" fill=\"white\"/>\n";
  const std::string model = std::filesystem::path(run.model_dir).filename().string();
  const std::string title = std::string(recall ? "Recall accuracy" : "Perplexity") +
                            " vs KV budget — " + (model.empty() ? run.model_dir : model) + ", " +
                            std::to_string(run.examples) + (recall ? " dialogues" : " texts");
  s +=
      "<text x=\"" + num(kLeft) + "\" y=\"24\" font-size=\"15\">" + xml_escape(title) + "</text>\n";

  // Axes, grid and ticks.
  s += "<g class=\"axes\" stroke=\"#000000\" stroke-width=\"1\">\n";
  s += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(kBottom) + "\" x2=\"" + num(kRight) +
       "\" y2=\"" + num(kBottom) + "\"/>\n";
  s += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(kTop) + "\" x2=\"" + num(kLeft) + "\" y2=\"" +
       num(kBottom) + "\"/>\n</g>\n";
  s += "<g class=\"xticks\" text-anchor=\"middle\">\n";
  for (int64_t b : budgets) {
    const double px = x.at(std::log2(static_cast<double>(b)));
    s += "<line x1=\"" + num(px) + "\" y1=\"" + num(kBottom) + "\" x2=\"" + num(px) + "\" y2=\"" +
         num(kBottom + 5) + "\" stroke=\"#000000\"/>\n";
    s += "<text x=\"" + num(px) + "\" y=\"" + num(kBottom + 19) + "\">" + std::to_string(b) +
         "</text>\n";
  }
  s += "</g>\n<g class=\"yticks\" text-anchor=\"end\">\n";
  const double step = recall ? 0.2 : nice_step(yhi - ylo, 5);
  for (double v = std::ceil(ylo / step - 1e-9) * step; v <= yhi + 1e-9 * step; v += step) {
    const double py = y.at(v);
    s += "<line x1=\"" + num(kLeft - 5) + "\" y1=\"" + num(py) + "\" x2=\"" + num(kRight) +
         "\" y2=\"" + num(py) + "\" stroke=\"#dddddd\"/>\n";
    s += "<text x=\"" + num(kLeft - 8) + "\" y=\"" + num(py + 4) + "\">" + tick_label(v) +
         "</text>\n";
  }
  s += "</g>\n";
  s += "<text x=\"" + num((kLeft + kRight) / 2) + "\" y=\"" + num(kHeight - 22) +
       "\" text-anchor=\"middle\">KV budget M (entries per lane, log2 scale)</text>\n";
  s += "<text transform=\"translate(18 " + num((kTop + kBottom) / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">" +
       (recall ? "accuracy (correct / total)" : "perplexity (exp mean NLL)") + "</text>\n";

  // One series per policy, in the order of the results.
  std::vector<KvPolicy> order;
  std::map<KvPolicy, std::vector<std::pair<double, double>>> points;  // (x px, y px)
  for (const ConfigResult& r : run.results) {
    if (std::find(order.begin(), order.end(), r.config.policy) == order.end()) {
      order.push_back(r.config.policy);
    }
    auto& pts = points[r.config.policy];
    if (r.config.policy == KvPolicy::kFull) {
      pts = {{kLeft, y.at(r.quality())}, {kRight, y.at(r.quality())}};
    } else {
      pts.push_back({x.at(std::log2(static_cast<double>(*r.config.budget))), y.at(r.quality())});
    }
  }
  for (KvPolicy p : order) {
    auto& pts = points[p];
    std::sort(pts.begin(), pts.end());
    const std::string name = kv_policy_name(p);
    std::string coords;
    for (const auto& [px, py] : pts) {
      if (!coords.empty()) coords += ' ';
      coords += num(px);
      coords += ',';
      coords += num(py);
    }
    s += "<polyline class=\"series\" data-policy=\"" + name + "\" points=\"" + coords +
         "\" fill=\"none\" stroke=\"" + color_of(p) + "\" stroke-width=\"2\"" +
         (p == KvPolicy::kFull ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
    if (p != KvPolicy::kFull) {
      for (const auto& [px, py] : pts) {
        s += "<circle cx=\"" + num(px) + "\" cy=\"" + num(py) + "\" r=\"3.5\" fill=\"" +
             color_of(p) + "\"/>\n";
      }
    }
  }

  // Legend.
  s += "<g class=\"legend\">\n";
  double ly = kTop + 8;
  for (KvPolicy p : order) {
    s += "<line x1=\"" + num(kRight + 20) + "\" y1=\"" + num(ly) + "\" x2=\"" + num(kRight + 48) +
         "\" y2=\"" + num(ly) + "\" stroke=\"" + color_of(p) + "\" stroke-width=\"2\"" +
         (p == KvPolicy::kFull ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
    s += "<text x=\"" + num(kRight + 56) + "\" y=\"" + num(ly + 4) + "\">" + kv_policy_name(p) +
         (p == KvPolicy::kFull ? " (no eviction)" : "") + "</text>\n";
    ly += 20;
  }
  s += "</g>\n</svg>\n";
  return s;
}

}  // namespace trimserve::cli
