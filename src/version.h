/* version.h - the one place the version is written. */
#ifndef MIGDECK_VERSION_H
#define MIGDECK_VERSION_H
#define MIGDECK_VERSION "0.1.0"
#endif
