# The FHIR index alone (built, never run by CTest): bench/fhirindex.sh runs two builds side by side.
add_executable(bench_fhir_index ${CMAKE_CURRENT_SOURCE_DIR}/bench_fhir_index.c)
target_include_directories(bench_fhir_index PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_compile_options(bench_fhir_index PRIVATE ${PHR_WARNINGS} -Wno-missing-prototypes)
target_link_libraries(bench_fhir_index PRIVATE phr_api)
