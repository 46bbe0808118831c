phr_fuzzer(terminology_check SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/terminology_check.c LIBS phr_fhir)
