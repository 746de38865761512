{
  "targets": [
    {
      "target_name": "cfkit",
      "sources": [
        "<!@(node -p \"require('./sources.json').core.concat(require('./sources.json').addon).join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "native/core",
        "/usr/include/suitesparse"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++1y"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions"],
      "libraries": ["-lcholmod", "-lcolamd", "-lsuitesparseconfig", "-lopenblas", "-lpthread", "-ldl"],
      "ldflags": ["-Wl,-rpath,'$$ORIGIN'"],
      "conditions": [["target_arch=='arm64'", {"cflags_cc": ["-ffp-contract=off"]}]]
    }
  ]
}
