phr_fuzzer(compliance_consent SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/compliance_consent.c LIBS phr_phr)
