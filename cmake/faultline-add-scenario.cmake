# faultline_add_scenario(<id> <source>...): one scenario, built in every flavour of the runtime
# this package has (FAULTLINE_FLAVOURS: release, tsan, asan), each binary named <id> in
#   ${FAULTLINE_SCENARIO_DIR}/<flavour>/scenarios/<id>
# beside a build_info.json of that flavour, which is the layout the driver reads:
#   faultline run <id> --sanitizer tsan --scenarios ${FAULTLINE_SCENARIO_DIR}
# (or FAULTLINE_SCENARIO_PATH=${FAULTLINE_SCENARIO_DIR}). Every source is compiled once per
# flavour, so code the scenario shares with others goes in the list too, not in a library built
# once. Targets are <id>.<flavour>; the release flavour gets -O2 -g when no build type is set.
include_guard(GLOBAL)

if(NOT DEFINED FAULTLINE_SCENARIO_DIR)
  set(FAULTLINE_SCENARIO_DIR "${CMAKE_BINARY_DIR}/faultline-scenarios" CACHE PATH
      "Where faultline_add_scenario puts the scenario binaries (give it to faultline --scenarios)")
endif()
set(_faultline_package_dir "${CMAKE_CURRENT_LIST_DIR}")

# build_info.json of one flavour: the compiler, flags and git revision of the user's project.
function(_faultline_build_info flavour)
  set(target faultline_build_info.${flavour})
  if(TARGET ${target})
    return()
  endif()
  string(TOUPPER "${CMAKE_BUILD_TYPE}" bt)
  get_target_property(options faultline::options_${flavour} INTERFACE_COMPILE_OPTIONS)
  if(NOT options)
    set(options)
  endif()
  string(JOIN " " flags ${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${bt}} ${options})
  set(sanitizer ${flavour})
  if(flavour STREQUAL "release")
    set(sanitizer none)
  endif()
  set(out "${FAULTLINE_SCENARIO_DIR}/${flavour}/build_info.json")
  add_custom_target(
    ${target} ALL
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
            "-DCOMPILER=${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}"
            -DCOMPILER_PATH=${CMAKE_CXX_COMPILER} "-DFLAGS=${flags}" -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
            -DSANITIZER=${sanitizer} -P ${_faultline_package_dir}/write_build_info.cmake
    BYPRODUCTS ${out}
    COMMENT "Recording the provenance of the ${flavour} scenarios")
endfunction()

function(faultline_add_scenario id)
  if(NOT id MATCHES "^[a-z0-9][a-z0-9-]*$")
    message(FATAL_ERROR "faultline_add_scenario: '${id}' is not a scenario id: use kebab-case "
                        "(lower-case letters, digits and dashes), e.g. cache-stampede")
  endif()
  if(NOT ARGN)
    message(FATAL_ERROR "faultline_add_scenario(${id}): name its source file, e.g. "
                        "faultline_add_scenario(${id} ${id}.cpp)")
  endif()
  foreach(flavour IN LISTS FAULTLINE_FLAVOURS)
    set(target ${id}.${flavour})
    add_executable(${target} ${ARGN})
    target_link_libraries(${target} PRIVATE faultline::scenario_${flavour}
                                            faultline::fault_${flavour} faultline::nemesis_${flavour})
    set_target_properties(
      ${target} PROPERTIES OUTPUT_NAME ${id} CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON
                           RUNTIME_OUTPUT_DIRECTORY "${FAULTLINE_SCENARIO_DIR}/${flavour}/scenarios")
    if(flavour STREQUAL "release" AND NOT CMAKE_BUILD_TYPE)
      target_compile_options(${target} PRIVATE -O2 -g)
    endif()
    _faultline_build_info(${flavour})
    add_dependencies(${target} faultline_build_info.${flavour})
  endforeach()
endfunction()
