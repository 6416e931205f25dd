// Byte-for-byte conformance of the C++ chat-template renderer with Python jinja2.
//
// The expected outputs come from tests/engine/render_chat_reference.py (jinja2 configured
// as transformers configures it), run by the CTest fixture in chat_fixtures.cmake, which
// passes the file through TRIMSERVE_CHAT_REFERENCE. The test is hidden from plain runs
// ([.]) because it needs that fixture; CTest runs it as engine/chat_template_conformance.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/chat_template.h"
#include "engine/jinja_template.h"

namespace {

using nlohmann::ordered_json;
using trimserve::ChatRenderOptions;
using trimserve::ChatTemplate;

ordered_json load_reference() {
  const char* path = std::getenv("TRIMSERVE_CHAT_REFERENCE");
  REQUIRE(path != nullptr);
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ordered_json::parse(ss.str());
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += "\\x" + std::to_string(static_cast<int>(c));
    } else {
      out += c;
    }
  }
  return out;
}

// Describes where two renders first differ.
std::string diff(const std::string& want, const std::string& got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  const size_t from = i > 40 ? i - 40 : 0;
  std::ostringstream os;
  os << "first difference at byte " << i << " (expected " << want.size() << " bytes, got "
     << got.size() << ")\n    expected: ..." << escape(want.substr(from, 100))
     << "\n    actual:   ..." << escape(got.substr(from, 100));
  return os.str();
}

struct Tally {
  int total = 0;
  int identical = 0;
  int errors_agreed = 0;
  std::vector<std::string> failures;

  void check(const std::string& name, const ordered_json& expected,
             const trimserve::Result<std::string>& got) {
    ++total;
    if (expected.contains("output")) {
      const std::string want = expected["output"].get<std::string>();
      if (!got.ok()) {
        failures.push_back(name + ": expected output, got error: " + got.status().to_string());
      } else if (*got != want) {
        failures.push_back(name + ": " + diff(want, *got));
      } else {
        ++identical;
      }
      return;
    }
    const auto& err = expected["error"];
    if (got.ok()) {
      failures.push_back(name + ": expected an error (" + err["type"].get<std::string>() + ": " +
                         err["message"].get<std::string>() + "), got output '" + escape(*got) + "'");
      return;
    }
    // raise_exception's message must come through verbatim.
    if (err["raised"].get<bool>() &&
        got.status().message().find(err["message"].get<std::string>()) == std::string::npos) {
      failures.push_back(name + ": raise_exception message lost: " + got.status().to_string());
      return;
    }
    ++errors_agreed;
  }

  void report(const char* what) {
    std::cout << what << ": " << (identical + errors_agreed) << "/" << total << " agree ("
              << identical << " identical renders, " << errors_agreed << " errors on both sides)\n";
    for (const auto& f : failures) std::cout << "  MISMATCH " << f << "\n";
  }
};

}  // namespace

TEST_CASE("chat templates render byte-identically to Python jinja2", "[.][conformance]") {
  const ordered_json ref = load_reference();
  std::map<std::string, ChatTemplate> templates;
  for (const auto& [name, t] : ref["templates"].items()) {
    std::optional<std::string> bos, eos;
    if (t["bos_token"].is_string()) bos = t["bos_token"].get<std::string>();
    if (t["eos_token"].is_string()) eos = t["eos_token"].get<std::string>();
    auto ct = ChatTemplate::parse(t["source"].get<std::string>(), bos, eos);
    INFO(name << ": " << (ct.ok() ? "" : ct.status().to_string()));
    REQUIRE(ct.ok());
    templates.emplace(name, std::move(ct).value());
  }
  std::map<std::string, ordered_json> conversations;
  for (const auto& c : ref["conversations"]) conversations[c["name"].get<std::string>()] = c;

  Tally chats;
  for (const auto& c : ref["cases"]) {
    const ordered_json& conv = conversations.at(c["conversation"].get<std::string>());
    ChatRenderOptions opts;
    opts.add_generation_prompt = conv.value("add_generation_prompt", true);
    if (conv.contains("enable_thinking")) opts.enable_thinking = conv["enable_thinking"].get<bool>();
    if (conv.contains("tools")) opts.tools = conv["tools"];
    if (conv.contains("extra")) opts.extra = conv["extra"];
    if (conv.contains("bos_token")) opts.bos_token = conv["bos_token"].get<std::string>();
    if (conv.contains("eos_token")) opts.eos_token = conv["eos_token"].get<std::string>();
    const auto& tmpl = templates.at(c["template"].get<std::string>());
    chats.check(c["name"].get<std::string>(), c, tmpl.render(conv["messages"], opts));
  }
  chats.report("chat conversations");

  Tally snippets;
  const auto& snippet_src = ref["snippets"];
  const auto& snippet_ref = ref["snippet_results"];
  REQUIRE(snippet_src.size() == snippet_ref.size());
  for (size_t i = 0; i < snippet_src.size(); ++i) {
    const auto& s = snippet_src[i];
    auto t = trimserve::jinja::Template::parse(s["template"].get<std::string>());
    trimserve::Result<std::string> got =
        t.ok() ? t->render(s["context"]) : trimserve::Result<std::string>(t.status());
    snippets.check(s["name"].get<std::string>(), snippet_ref[i], got);
  }
  snippets.report("jinja snippets");

  CHECK(chats.total >= 150);
  CHECK(chats.failures.empty());
  CHECK(snippets.failures.empty());
}
