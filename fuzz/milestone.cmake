phr_fuzzer(milestone_details SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/milestone_details.c LIBS phr_phr)
