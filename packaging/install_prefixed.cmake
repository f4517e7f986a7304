# Runs at install time (cmake --install, cpack), not at configure time: it
# installs the files whose place or content depends on the install prefix,
# which is only known then (`cmake --install build --prefix P`; cpack installs
# with /usr). packaging/CMakeLists.txt includes it through install(CODE).
#
#   prefix /usr (or /)  config  /etc/zfleet/fleet.yaml
#                       client  <prefix>/lib/python3/dist-packages/zfleet_client.py
#   any other prefix P  config  P/etc/zfleet/fleet.yaml
#                       client  P/lib/python3.X/dist-packages/zfleet_client.py
#                       (on the path of Debian's python3 for P = /usr/local)
#   both                units   <prefix>/lib/systemd/system/zfleet-broker.service,
#                               zfleet-worker@.service, naming <prefix>/bin and the
#                               config above
#
# An existing config file is kept, never overwritten: it is the operator's
# (the .deb marks it a conffile, so dpkg asks on upgrades).
#
# In: ZFLEET_PACKAGING_DIR (this folder), ZFLEET_CLIENT_DIR (clients/python),
# ZFLEET_GENERATED_DIR (a build-tree folder for the generated units),
# ZFLEET_PYTHON_VERSION (3.11). CMAKE_INSTALL_PREFIX and DESTDIR are cmake's.

string(REGEX REPLACE "/+$" "" prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "" OR prefix STREQUAL "/usr")
  set(ZFLEET_SYSCONFDIR "/etc")
  set(python_dir "${prefix}/lib/python3/dist-packages")
else()
  set(ZFLEET_SYSCONFDIR "${prefix}/etc")
  set(python_dir "${prefix}/lib/python${ZFLEET_PYTHON_VERSION}/dist-packages")
endif()
set(ZFLEET_BINDIR "${prefix}/bin")
set(ZFLEET_DOCDIR "${prefix}/share/doc/zfleet")

# Generated per destination, so that two installs at once (tools/package and
# the package test) never write the same file; removed once installed.
string(MD5 key "$ENV{DESTDIR}|${prefix}")
set(generated "${ZFLEET_GENERATED_DIR}/${key}")
foreach(unit zfleet-broker.service zfleet-worker@.service)
  configure_file("${ZFLEET_PACKAGING_DIR}/systemd/${unit}.in" "${generated}/${unit}" @ONLY)
endforeach()
file(INSTALL DESTINATION "${prefix}/lib/systemd/system" TYPE FILE
     FILES "${generated}/zfleet-broker.service" "${generated}/zfleet-worker@.service")
file(REMOVE_RECURSE "${generated}")

set(config "${ZFLEET_SYSCONFDIR}/zfleet/fleet.yaml")
if(EXISTS "$ENV{DESTDIR}${config}")
  message(STATUS "Kept: $ENV{DESTDIR}${config} (the example is in ${ZFLEET_DOCDIR}/examples/fleet.yaml)")
else()
  file(INSTALL DESTINATION "${ZFLEET_SYSCONFDIR}/zfleet" TYPE FILE
       FILES "${ZFLEET_PACKAGING_DIR}/fleet.yaml")
endif()

file(INSTALL DESTINATION "${python_dir}" TYPE FILE FILES "${ZFLEET_CLIENT_DIR}/zfleet_client.py")
