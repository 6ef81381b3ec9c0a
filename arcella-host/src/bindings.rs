//! Host bindings for the `arcella:component/module` world, generated from `wit/`.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "arcella:component/module",
    exports: { default: async },
});
