// results.svg of `trimserve eval`: quality (recall accuracy or perplexity) against the KV budget,
// one line per policy, written as plain SVG text (no plotting library): title, axes, ticks
// (x: the budgets on a log2 scale; y: accuracy 0..1 or a padded perplexity range), a legend,
// and per policy one <polyline class="series" data-policy="NAME"> with a circle per point.
// `full` keeps everything, so it is a dashed horizontal reference line across the plot.
#pragma once

#include <string>

#include "server/cli/eval_result.h"

namespace trimserve::cli {

std::string eval_svg(const EvalRun& run);

}  // namespace trimserve::cli
