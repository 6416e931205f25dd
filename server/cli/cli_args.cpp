#include "server/cli/cli_args.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace trimserve::cli {

namespace {
bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
}  // namespace

CliArgs::CliArgs(std::vector<std::string> value_flags, std::vector<std::string> bool_flags)
    : value_flags_(std::move(value_flags)), bool_flags_(std::move(bool_flags)) {}

Status CliArgs::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      return invalid_argument("unexpected argument '" + arg + "'");
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (contains(bool_flags_, name)) {
      if (inline_value) return invalid_argument("--" + name + " takes no value");
      values_[name] = "true";
    } else if (contains(value_flags_, name)) {
      if (inline_value) {
        values_[name] = *inline_value;
      } else {
        if (i + 1 >= argc) return invalid_argument("--" + name + " needs a value");
        values_[name] = argv[++i];
      }
    } else {
      return invalid_argument("unknown option --" + name);
    }
  }
  return Status();
}

bool CliArgs::has(const std::string& name) const { return values_.count(name) > 0; }

std::optional<std::string> CliArgs::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string CliArgs::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

static Result<int64_t> parse_int(const std::string& flag, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) {
    return invalid_argument("--" + flag + ": expected an integer, got '" + text + "'");
  }
  return static_cast<int64_t>(v);
}

Result<std::optional<int64_t>> CliArgs::get_int(const std::string& name) const {
  auto v = get(name);
  if (!v) return std::optional<int64_t>();
  auto r = parse_int(name, *v);
  if (!r.ok()) return r.status();
  return std::optional<int64_t>(*r);
}

Result<std::optional<double>> CliArgs::get_double(const std::string& name) const {
  auto v = get(name);
  if (!v) return std::optional<double>();
  errno = 0;
  char* end = nullptr;
  double d = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0' || errno == ERANGE) {
    return invalid_argument("--" + name + ": expected a number, got '" + *v + "'");
  }
  return std::optional<double>(d);
}

Result<std::optional<std::vector<int64_t>>> CliArgs::get_int_list(const std::string& name) const {
  auto v = get(name);
  if (!v) return std::optional<std::vector<int64_t>>();
  std::vector<int64_t> out;
  size_t start = 0;
  while (start <= v->size()) {
    size_t comma = v->find(',', start);
    if (comma == std::string::npos) comma = v->size();
    auto r = parse_int(name, v->substr(start, comma - start));
    if (!r.ok()) return r.status();
    out.push_back(*r);
    start = comma + 1;
  }
  return std::optional<std::vector<int64_t>>(std::move(out));
}

Status CliArgs::read_int(const std::string& name, int64_t& dst) const {
  auto v = get_int(name);
  if (!v.ok()) return v.status();
  if (*v) dst = **v;
  return Status();
}

Status CliArgs::read_double(const std::string& name, double& dst) const {
  auto v = get_double(name);
  if (!v.ok()) return v.status();
  if (*v) dst = **v;
  return Status();
}

}  // namespace trimserve::cli
