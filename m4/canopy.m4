dnl CANOPY_REQUIRE_PKG(VARIABLE-PREFIX, MODULES, DEBIAN-PACKAGE)
dnl PKG_CHECK_MODULES that fails with one line naming the package to install.
AC_DEFUN([CANOPY_REQUIRE_PKG], [
  PKG_CHECK_MODULES([$1], [$2], [],
    [AC_MSG_ERROR([$2 not found: install it with 'apt-get install $3'])])
])
