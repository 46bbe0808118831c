# FHIR validation benchmark (built, never run by CTest): bench/fhir_validate.sh runs it.
add_executable(bench_fhir_validate ${CMAKE_CURRENT_SOURCE_DIR}/bench_fhir_validate.c)
target_include_directories(bench_fhir_validate PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_fhir_validate PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_fhir_validate PRIVATE phr_fhir phr_core)
