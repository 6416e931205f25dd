# Chat-template conformance (included inside trimserve_add_test_dir(engine ...)).
# The fixture renders the conversation and snippet sets with Python jinja2, configured as
# transformers configures it; the conformance test then compares the C++ renderer byte for
# byte. If the reference cannot be produced (no jinja2, no Qwen3 template from tests/js
# node_modules) the fixture fails and the conformance test is reported as not run: failed.
set(TRIMSERVE_CHAT_REFERENCE ${CMAKE_BINARY_DIR}/chat-reference/expected.json)
add_test(NAME fixture_chat_reference
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/engine/render_chat_reference.py
          --out ${TRIMSERVE_CHAT_REFERENCE}
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(fixture_chat_reference PROPERTIES
  ENVIRONMENT "${TRIMSERVE_TEST_ENV}" FIXTURES_SETUP chat_reference)

# The Catch2 case is hidden ([.]) from catch_discover_tests; run it explicitly here.
add_test(NAME "engine/chat_template_conformance"
  COMMAND chat_template_conformance_test "[conformance]"
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties("engine/chat_template_conformance" PROPERTIES
  ENVIRONMENT "${TRIMSERVE_TEST_ENV};TRIMSERVE_CHAT_REFERENCE=${TRIMSERVE_CHAT_REFERENCE}"
  FIXTURES_REQUIRED chat_reference)
