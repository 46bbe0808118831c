# privacy module: PPRL schema/CSV/CLK parsing, homomorphic-aggregate submissions.
phr_fuzzer(pprl_schema SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/pprl_schema.c LIBS phr_privacy)
phr_fuzzer(he_submission SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/he_submission.c LIBS phr_privacy)
