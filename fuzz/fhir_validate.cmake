phr_fuzzer(fhir_validate SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fhir_validate.c LIBS phr_fhir)
