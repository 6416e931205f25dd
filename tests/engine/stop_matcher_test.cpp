#include "engine/stop_matcher.h"

#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace trimserve;

namespace {

struct Run {
  std::vector<std::string> emitted;  // one entry per feed()
  std::string text;                  // everything emitted, flush included
  bool stopped = false;
  int32_t stop_index = -1;
};

Run feed_all(std::vector<std::string> stop, const std::vector<std::string>& deltas) {
  StopMatcher matcher(std::move(stop));
  Run run;
  for (const std::string& d : deltas) {
    StopMatcher::Output out = matcher.feed(d);
    run.emitted.push_back(out.text);
    run.text += out.text;
    if (out.stopped) {
      run.stopped = true;
      run.stop_index = out.stop_index;
    }
  }
  run.text += matcher.flush();
  return run;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("without stop strings text passes straight through", "[stop]") {
  Run run = feed_all({}, {"Hello", ", ", "world"});
  CHECK(run.emitted == Strings{"Hello", ", ", "world"});
  CHECK_FALSE(run.stopped);
}

TEST_CASE("a stop string split over several deltas", "[stop]") {
  Run run = feed_all({"END"}, {"Hello E", "N", "D and more", "ignored"});
  CHECK(run.emitted == Strings{"Hello ", "", "", ""});
  CHECK(run.text == "Hello ");
  CHECK(run.stopped);
  CHECK(run.stop_index == 0);
}

TEST_CASE("a held-back prefix is released once it cannot match", "[stop]") {
  StopMatcher matcher({"END"});
  StopMatcher::Output out = matcher.feed("abc E");
  CHECK(out.text == "abc ");
  CHECK(matcher.num_pending_bytes() == 1);
  out = matcher.feed("N");
  CHECK(out.text == "");
  CHECK(matcher.num_pending_bytes() == 2);
  out = matcher.feed("x");
  CHECK(out.text == "ENx");
  CHECK_FALSE(out.stopped);
  CHECK(matcher.num_pending_bytes() == 0);
}

TEST_CASE("a self-overlapping stop string releases only what cannot match", "[stop]") {
  Run run = feed_all({"aab"}, {"a", "a", "a", "b"});
  CHECK(run.emitted == Strings{"", "", "a", ""});
  CHECK(run.text == "a");
  CHECK(run.stopped);
}

TEST_CASE("flush releases a pending prefix when generation ends otherwise", "[stop]") {
  StopMatcher matcher({"END"});
  CHECK(matcher.feed("foo EN").text == "foo ");
  CHECK(matcher.flush() == "EN");
  CHECK(matcher.flush() == "");
}

TEST_CASE("multiple stop strings report which one matched", "[stop]") {
  Run run = feed_all({"\n\n", "###"}, {"foo#", "##bar\n\n"});
  CHECK(run.text == "foo");
  CHECK(run.stop_index == 1);
  Run other = feed_all({"\n\n", "###"}, {"foo\n", "\nbar###"});
  CHECK(other.text == "foo");
  CHECK(other.stop_index == 0);
}

TEST_CASE("the stop string that ends first wins, independent of chunking", "[stop]") {
  // "ab" completes before "xabc" would, so a character stream stops at "ab".
  Run whole = feed_all({"xabc", "ab"}, {"xabc"});
  Run chars = feed_all({"xabc", "ab"}, {"x", "a", "b", "c"});
  CHECK(whole.text == "x");
  CHECK(whole.stop_index == 1);
  CHECK(chars.text == "x");
  CHECK(chars.stop_index == 1);
  // Equal ends: the longer (earlier-starting) one.
  Run tie = feed_all({"bc", "abc"}, {"zabc"});
  CHECK(tie.text == "z");
  CHECK(tie.stop_index == 1);
}

TEST_CASE("a stop string at the very start emits nothing", "[stop]") {
  Run run = feed_all({"STOP"}, {"STOP and more"});
  CHECK(run.emitted == Strings{""});
  CHECK(run.stopped);
  Run exact = feed_all({"<|end|>"}, {"<|end|>"});
  CHECK(exact.text == "");
  CHECK(exact.stopped);
}

TEST_CASE("after a match feed keeps reporting the stop and flush is empty", "[stop]") {
  StopMatcher matcher({"x", "yz"});
  StopMatcher::Output out = matcher.feed("ayzb");
  CHECK(out.text == "a");
  CHECK(out.stop_index == 1);
  CHECK(matcher.stopped());
  out = matcher.feed("more text");
  CHECK(out.text == "");
  CHECK(out.stopped);
  CHECK(out.stop_index == 1);
  CHECK(matcher.flush() == "");
}

TEST_CASE("multi-byte UTF-8 text and stop strings", "[stop]") {
  // U+3002 IDEOGRAPHIC FULL STOP is E3 80 82.
  Run run = feed_all({"\xE3\x80\x82"}, {"你好", "\xE3\x80\x82再见"});
  CHECK(run.text == "你好");
  CHECK(run.stopped);

  // A shared first character is held, then released with the next one.
  Run shared = feed_all({"你们"}, {"你", "好"});
  CHECK(shared.emitted == Strings{"", "你好"});
  CHECK_FALSE(shared.stopped);

  // Deltas that split a code point: "é" is C3 A9.
  Run split = feed_all({"é!"}, {"caf\xC3", "\xA9", "!"});
  CHECK(split.emitted == Strings{"caf", "", ""});
  CHECK(split.stopped);
}

TEST_CASE("an unfinished UTF-8 sequence is never emitted on its own", "[stop]") {
  // 你 is E4 BD A0; 😀 is F0 9F 98 80.
  Run run = feed_all({}, {"a\xE4", "\xBD", "\xA0" "b", "\xF0\x9F", "\x98\x80"});
  CHECK(run.emitted == Strings{"a", "", "你b", "", "😀"});
  // Bytes that can never complete are passed on rather than held forever.
  Run bad = feed_all({}, {"x\x80", "\xFF"});
  CHECK(bad.emitted == Strings{"x\x80", "\xFF"});
  // flush() hands out a dangling lead byte at the end of generation.
  StopMatcher matcher({});
  CHECK(matcher.feed("ok\xE4").text == "ok");
  CHECK(matcher.flush() == "\xE4");
}

TEST_CASE("random splits give the same result as one delta", "[stop]") {
  const Strings stops = {"abc", "bca", "cc", "aaaa"};
  std::mt19937 gen(12345);
  std::uniform_int_distribution<int> letter(0, 2);
  for (int trial = 0; trial < 500; ++trial) {
    std::string text;
    for (int i = 0; i < 20; ++i) text.push_back(static_cast<char>('a' + letter(gen)));
    // Reference: the first occurrence ending earliest (ties: longer), found directly.
    size_t best_end = std::string::npos;
    size_t best_start = 0;
    int32_t best = -1;
    for (size_t i = 0; i < stops.size(); ++i) {
      size_t pos = text.find(stops[i]);
      if (pos == std::string::npos) continue;
      size_t end = pos + stops[i].size();
      if (end < best_end || (end == best_end && pos < best_start)) {
        best_end = end;
        best_start = pos;
        best = static_cast<int32_t>(i);
      }
    }
    std::string want = best < 0 ? text : text.substr(0, best_start);

    Strings deltas;
    for (size_t i = 0; i < text.size();) {
      size_t len = std::uniform_int_distribution<size_t>(1, 5)(gen);
      deltas.push_back(text.substr(i, len));
      i += len;
    }
    INFO("text " << text);
    Run run = feed_all(stops, deltas);
    CHECK(run.text == want);
    CHECK(run.stop_index == best);
    CHECK(run.stopped == (best >= 0));
  }
}

TEST_CASE("FinishChecker: EOS, stop tokens and max_tokens", "[stop]") {
  SamplingParams p;
  p.max_tokens = 3;
  p.stop_token_ids = {7};
  FinishChecker checker(p, {2, 5});
  CHECK(checker.on_token(1, 1).reason == FinishReason::kNone);
  FinishChecker::Decision eos = checker.on_token(5, 1);
  CHECK(eos.reason == FinishReason::kStop);
  CHECK(eos.hide_token_text);
  CHECK(checker.on_token(7, 2).reason == FinishReason::kStop);
  FinishChecker::Decision length = checker.on_token(1, 3);
  CHECK(length.reason == FinishReason::kLength);
  CHECK_FALSE(length.hide_token_text);
  // A stop token on the last allowed position is still "stop".
  CHECK(checker.on_token(2, 3).reason == FinishReason::kStop);
}

TEST_CASE("FinishChecker: ignore_eos keeps stop_token_ids", "[stop]") {
  SamplingParams p;
  p.max_tokens = 100;
  p.ignore_eos = true;
  p.stop_token_ids = {9};
  FinishChecker checker(p, {2});
  CHECK(checker.on_token(2, 1).reason == FinishReason::kNone);
  CHECK(checker.on_token(9, 2).reason == FinishReason::kStop);
  CHECK(checker.on_token(2, 100).reason == FinishReason::kLength);
}

TEST_CASE("finish reasons use the OpenAI spelling", "[stop]") {
  CHECK(std::string(finish_reason_name(FinishReason::kStop)) == "stop");
  CHECK(std::string(finish_reason_name(FinishReason::kLength)) == "length");
  CHECK(std::string(finish_reason_name(FinishReason::kNone)) == "");
}
