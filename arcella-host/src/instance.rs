//! A running instance of a module-world component: its store, and its calls.

use std::sync::Arc;

use wasmtime::Store;

use crate::bindings::Module as ModuleBindings;
use crate::call::Call;
use crate::enforce::{Budget, guarded};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::loaded::ExportedFunc;
use crate::store::GuestState;

/// A running instance of a module-world component.
pub struct Instance {
    store: Store<GuestState>,
    instance: wasmtime::component::Instance,
    bindings: ModuleBindings,
    limits: Limits,
    metered: bool,
    functions: Arc<Vec<ExportedFunc>>,
}

impl Instance {
    pub(crate) fn new(
        store: Store<GuestState>,
        instance: wasmtime::component::Instance,
        bindings: ModuleBindings,
        limits: Limits,
        metered: bool,
        functions: Arc<Vec<ExportedFunc>>,
    ) -> Self {
        Self {
            store,
            instance,
            bindings,
            limits,
            metered,
            functions,
        }
    }

    /// Calls `lifecycle.start` with `config`.
    pub async fn start(&mut self, config: &Vec<(String, String)>) -> Result<Call<()>> {
        let lifecycle = self.bindings.arcella_component_lifecycle();
        let budget = Budget {
            limits: &self.limits,
            metered: self.metered,
        };
        let call = guarded(&mut self.store, budget, async |store| {
            lifecycle.call_start(store, config).await
        })
        .await?;
        self.guest_result(call, "start")
    }

    /// Calls `lifecycle.stop`.
    pub async fn stop(&mut self) -> Result<Call<()>> {
        let lifecycle = self.bindings.arcella_component_lifecycle();
        let budget = Budget {
            limits: &self.limits,
            metered: self.metered,
        };
        let call = guarded(&mut self.store, budget, async |store| {
            lifecycle.call_stop(store).await
        })
        .await?;
        self.guest_result(call, "stop")
    }

    /// Calls `handler.handle`; the guest's own `Err` is part of the value, not an [`Error`].
    pub async fn handle(
        &mut self,
        topic: &str,
        payload: &[u8],
    ) -> Result<Call<Result<Vec<u8>, String>>> {
        let handler = self.bindings.arcella_component_handler();
        let budget = Budget {
            limits: &self.limits,
            metered: self.metered,
        };
        guarded(&mut self.store, budget, async |store| {
            handler.call_handle(store, topic, payload).await
        })
        .await
    }

    /// Calls any exported function, written as a WAVE call: `handle("greet", [104, 105])`.
    ///
    /// The function may be named bare (`handle`) when only one interface
    /// exports that name, or in full (`arcella:component/handler@0.1.0#handle`).
    /// The results come back in WAVE syntax, one value per result, joined by `, `.
    pub async fn invoke(&mut self, call: &str) -> Result<Call<String>> {
        use wasmtime::component::wasm_wave::untyped::UntypedFuncCall;
        use wasmtime::component::{Type, Val};
        let module = self.store.data().module().to_string();
        let invalid = |message: String| Error::Invoke {
            module: module.clone(),
            message,
        };
        // WAVE names cannot hold `#`, so a qualified `interface#func(…)` is split first.
        let (interface, bare_call) = match call
            .split_once('(')
            .map(|(head, _)| head)
            .and_then(|head| head.rsplit_once('#'))
        {
            Some((interface, _)) => (Some(interface.trim()), &call[interface.len() + 1..]),
            None => (None, call),
        };
        let parsed = UntypedFuncCall::parse(bare_call)
            .map_err(|error| invalid(format!("`{call}` is not a WAVE call: {error}")))?;
        let wanted = parsed.name();
        let matches: Vec<&ExportedFunc> = self
            .functions
            .iter()
            .filter(|func| {
                func.name == wanted && interface.is_none_or(|interface| func.interface == interface)
            })
            .collect();
        let target = match matches.as_slice() {
            [one] => (*one).clone(),
            [] => {
                let known: Vec<String> = self.functions.iter().map(ToString::to_string).collect();
                return Err(invalid(format!(
                    "no exported function `{wanted}`; the component exports: {}",
                    known.join(", ")
                )));
            }
            many => {
                let names: Vec<String> = many.iter().map(ToString::to_string).collect();
                return Err(invalid(format!(
                    "`{wanted}` is ambiguous; name one of: {}",
                    names.join(", ")
                )));
            }
        };
        let parent = if target.interface.is_empty() {
            None
        } else {
            self.instance
                .get_export_index(&mut self.store, None, &target.interface)
        };
        let func = self
            .instance
            .get_export_index(&mut self.store, parent.as_ref(), &target.name)
            .and_then(|index| self.instance.get_func(&mut self.store, index))
            .ok_or_else(|| invalid(format!("`{target}` is not a function")))?;
        let param_types: Vec<Type> = func.ty(&self.store).params().map(|(_, ty)| ty).collect();
        let params: Vec<Val> = parsed
            .to_wasm_params(param_types.iter())
            .map_err(|error| invalid(format!("bad arguments for `{target}`: {error}")))?;
        let results = vec![Val::Bool(false); func.ty(&self.store).results().len()];
        let budget = Budget {
            limits: &self.limits,
            metered: self.metered,
        };
        let call = guarded(&mut self.store, budget, async move |store| {
            let mut results = results;
            func.call_async(store, &params, &mut results).await?;
            Ok(results)
        })
        .await?;
        let results = &call.value;
        let rendered: Vec<String> = results
            .iter()
            .map(|value| {
                wasmtime::component::wasm_wave::to_string(value)
                    .unwrap_or_else(|error| format!("<{error}>"))
            })
            .collect();
        Ok(call.map(|_| rendered.join(", ")))
    }

    fn guest_result(&self, call: Call<Result<(), String>>, action: &str) -> Result<Call<()>> {
        match &call.value {
            Ok(()) => Ok(call.map(|_| ())),
            Err(message) => Err(Error::Guest {
                module: self.store.data().module().to_string(),
                action: action.to_string(),
                message: message.clone(),
            }),
        }
    }
}
