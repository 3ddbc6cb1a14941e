# What `cmake --install build/<preset> --prefix P` puts under P. Each preset installs its own
# flavour (release, tsan or asan), so installing the three presets into one prefix gives:
#   bin/faultline, bin/faultline-*-server           the driver and the standalone servers (release)
#   libexec/faultline/<flavour>/scenarios/<id>      the built-in scenarios, laid out as a build
#   libexec/faultline/<flavour>/build_info.json     root, which the installed driver finds itself
#   lib/faultline/<flavour>/libfaultline_*.a        the scenario runtime: probe, scenario, fault,
#                                                   nemesis, built with that flavour's sanitizer
#   include/faultline/harness/...                   their headers
#   lib/cmake/faultline/                            the CMake package: find_package(faultline)
#                                                   and faultline_add_scenario (docs/writing-a-scenario.md)
#   lib/faultline/libfaultline_syscall*.so          the syscall shim --fault syscall preloads
#   lib/faultline/faultline-seccomp-launch          the launcher for statically linked programs
#   share/faultline/python/faultline_report.py      the report protocol for Python
#   share/man/man1/faultline.1, bash completion     made from the driver's help (release)
include(CMakePackageConfigHelpers)

if(FAULTLINE_SANITIZER STREQUAL "none")
  set(FAULTLINE_FLAVOUR release)
else()
  set(FAULTLINE_FLAVOUR ${FAULTLINE_SANITIZER})
endif()
set(FAULTLINE_INSTALL_CMAKEDIR lib/cmake/faultline)

# The scenario runtime, one export set per flavour: faultline::scenario_tsan and so on.
set(_faultline_runtime faultline_options faultline_probe faultline_scenario faultline_fault
                       faultline_nemesis)
foreach(target IN LISTS _faultline_runtime)
  string(REPLACE "faultline_" "" name ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name}_${FAULTLINE_FLAVOUR})
endforeach()
install(TARGETS ${_faultline_runtime} EXPORT faultline-${FAULTLINE_FLAVOUR}
        ARCHIVE DESTINATION lib/faultline/${FAULTLINE_FLAVOUR})
install(EXPORT faultline-${FAULTLINE_FLAVOUR} NAMESPACE faultline::
        DESTINATION ${FAULTLINE_INSTALL_CMAKEDIR} FILE faultline-targets-${FAULTLINE_FLAVOUR}.cmake)
foreach(part probe scenario fault nemesis)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/harness/${part} DESTINATION include/faultline/harness
          FILES_MATCHING PATTERN "*.h")
endforeach()

# The package files are the same from every preset; each install writes them again.
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/faultlineConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/faultlineConfig.cmake
                              INSTALL_DESTINATION ${FAULTLINE_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/faultlineConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/faultlineConfig.cmake
              ${CMAKE_BINARY_DIR}/faultlineConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/faultline-add-scenario.cmake
              ${PROJECT_SOURCE_DIR}/cmake/write_build_info.cmake
        DESTINATION ${FAULTLINE_INSTALL_CMAKEDIR})

# The built-in scenarios of this flavour, and what built them.
get_property(_faultline_scenarios GLOBAL PROPERTY FAULTLINE_SCENARIOS)
install(TARGETS ${_faultline_scenarios}
        RUNTIME DESTINATION libexec/faultline/${FAULTLINE_FLAVOUR}/scenarios)
install(FILES ${CMAKE_BINARY_DIR}/build_info.json
        DESTINATION libexec/faultline/${FAULTLINE_FLAVOUR})

if(FAULTLINE_FLAVOUR STREQUAL "release")
  install(TARGETS faultline faultline-rpc-server faultline-epoll-server RUNTIME DESTINATION bin)
  install(TARGETS faultline_syscall faultline_syscall_malloc LIBRARY DESTINATION lib/faultline)
  if(TARGET faultline-seccomp-launch)
    install(TARGETS faultline-seccomp-launch RUNTIME DESTINATION lib/faultline)
  endif()
  install(FILES ${PROJECT_SOURCE_DIR}/sdk/python/faultline_report.py
          DESTINATION share/faultline/python)
  install(FILES ${CMAKE_BINARY_DIR}/share/bash-completion/completions/faultline DESTINATION share/bash-completion/completions)
  if(FAULTLINE_HELP2MAN)
    install(FILES ${CMAKE_BINARY_DIR}/share/man/man1/faultline.1 DESTINATION share/man/man1)
  endif()
endif()
