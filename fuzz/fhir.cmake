phr_fuzzer(terminology_check SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/terminology_check.c LIBS phr_fhir)
phr_fuzzer(fhir_request SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fhir_request.c LIBS phr_api)
phr_fuzzer(fhir_search SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fhir_search.c LIBS phr_api)
