#!/bin/sh
# Print requirements.txt without the packages listed in dev-packages.txt: what the runtime
# image installs (deploy/Dockerfile). Names compare as pip does (case and runs of -_. alike).
# Fails when nothing is left or when a listed name matches no requirement (a stale list).
# usage: runtime-requirements.sh requirements.txt dev-packages.txt > requirements-runtime.txt
set -eu
requirements=$1
dev_packages=$2

awk '
    function normal(name) { name = tolower(name); gsub(/[-_.]+/, "-", name); return name }
    FNR == NR {                                   # dev-packages.txt: one name a line
        sub(/#.*/, ""); gsub(/[ \t\r]/, "")
        if ($0 != "") { drop[normal($0)] = 1; unused[normal($0)] = $0 }
        next
    }
    /^[ \t]*(#|$)/ { next }                       # requirements.txt: comments, blank lines
    {
        name = $0; sub(/^[ \t]+/, "", name); sub(/[ \t]*[=<>!~;@\[ ].*/, "", name)
        if (normal(name) in drop) { delete unused[normal(name)]; next }
        print; kept++
    }
    END {
        for (name in unused) { print "runtime-requirements: " unused[name] " is in no requirement" > "/dev/stderr"; bad = 1 }
        if (!kept) { print "runtime-requirements: no requirement left" > "/dev/stderr"; bad = 1 }
        exit bad
    }
' "$dev_packages" "$requirements"
