# api module: REST request parsing (routes, JSON bodies, field validation) and SIWE messages.
phr_fuzzer(api_request SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/api_request.c LIBS phr_api)
phr_fuzzer(siwe_parse SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/siwe_parse.c LIBS phr_api)
phr_fuzzer(api_tx SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/api_tx.c LIBS phr_api)
