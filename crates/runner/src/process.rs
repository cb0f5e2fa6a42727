//! The process runner (to be implemented).

use crate::{EventSink, InstanceSpec, InstanceStatus, Runner, RunnerError};

/// Runs instances as local processes.
pub struct ProcessRunner {
    #[allow(dead_code)]
    events: EventSink,
}

impl ProcessRunner {
    pub fn new(events: EventSink) -> Self {
        ProcessRunner { events }
    }
}

impl Runner for ProcessRunner {
    fn start(&self, _spec: InstanceSpec) -> Result<(), RunnerError> {
        Err(RunnerError::Unavailable("not implemented yet".into()))
    }
    fn stop_service(&self, _service: &str) {}
    fn status(&self, _service: &str) -> Vec<InstanceStatus> {
        Vec::new()
    }
    fn shutdown(&self) {}
}
