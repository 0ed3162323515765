use crate::{
    PeerId,
    global::{
        NodeId,
        shared::{
            CollectiveMessageResponse, GlobalCollectiveError, RemoteRequest, RemoteResponse,
            RequestId, SessionId,
        },
    },
};
use burn_communication::Address;
use std::collections::HashMap;
use tokio::sync::mpsc::{Receiver, Sender};

pub(crate) struct Session {
    response_sender: Sender<CollectiveMessageResponse>,
    response_receiver: Option<Receiver<CollectiveMessageResponse>>,
}

impl Session {
    fn new() -> Self {
        let (response_sender, recv) = tokio::sync::mpsc::channel::<CollectiveMessageResponse>(1);
        Self {
            response_sender,
            response_receiver: Some(recv),
        }
    }

    async fn respond(&mut self, response: CollectiveMessageResponse) {
        // vit-burn patch: a node whose response connection is gone is not a panic here.
        if self.response_sender.send(response).await.is_err() {
            log::warn!("A node left before its response was sent");
        }
    }
}

/// A node waiting for the other nodes of its run to register.
struct PendingNode {
    session: SessionId,
    request: RequestId,
    address: Address,
    peers: Vec<PeerId>,
}

// vit-burn patch: the state is one group being formed (`pending`) plus the nodes of groups
// already formed (`registered_nodes`). A group forms from its own pending nodes only, so nodes of
// an earlier run that are still finishing (or were lost without closing their connection) can
// neither complete nor join it, and its node count and peer count are its own (0.21 counted
// every node ever registered, and `finish` zeroed the peer count of the nodes still running).
// Node ids are given when the group forms: each node's lowest peer id when these are distinct
// (vit-train registers one peer per node, numbered by rank), else the order of those ids.
pub(crate) struct GlobalCollectiveState {
    /// Nodes of formed groups, by session
    registered_nodes: HashMap<SessionId, NodeId>,
    /// The group being formed: its node count (from its first node) and its nodes so far
    pending_num_nodes: Option<u32>,
    pending: Vec<PendingNode>,

    sessions: HashMap<SessionId, Session>,
}

impl GlobalCollectiveState {
    pub fn new() -> Self {
        Self {
            registered_nodes: HashMap::new(),
            pending_num_nodes: None,
            pending: Vec::new(),
            sessions: HashMap::new(),
        }
    }

    pub(crate) fn init_session(&mut self, id: SessionId) {
        if self.sessions.contains_key(&id) {
            return;
        }
        self.sessions.insert(id, Session::new());
    }

    /// Create the session with given id if necessary, and get the response receiver
    /// vit-burn patch: `None` when the session's responses are already taken (a second
    /// response connection for one session: refused, not a panic).
    pub(crate) fn get_session_responder(
        &mut self,
        id: SessionId,
    ) -> Option<Receiver<CollectiveMessageResponse>> {
        self.init_session(id);
        self.sessions.get_mut(&id)?.response_receiver.take()
    }

    pub(crate) async fn respond(
        &mut self,
        session_id: SessionId,
        response: CollectiveMessageResponse,
    ) {
        if let Some(session) = self.sessions.get_mut(&session_id) {
            session.respond(response).await;
        }
    }

    /// vit-burn patch: forgets a node whose request connection closed (it finished, failed or was
    /// killed), so that the orchestrator can serve the next run; it used to keep the node
    /// registered for ever, and no later run could register.
    pub(crate) fn forget_session(&mut self, session_id: SessionId) {
        self.registered_nodes.remove(&session_id);
        self.pending.retain(|node| node.session != session_id);
        if self.pending.is_empty() {
            self.pending_num_nodes = None;
        }
        self.sessions.remove(&session_id);
    }

    /// Process an incoming node's request
    pub(crate) async fn process_request(
        &mut self,
        session_id: SessionId,
        request_id: RequestId,
        request: RemoteRequest,
    ) {
        if let Err(err) = match request {
            RemoteRequest::Register {
                node_addr,
                num_nodes,
                peers,
            } => {
                self.register(session_id, request_id, node_addr, num_nodes, peers)
                    .await
            }
            RemoteRequest::Finish => self.finish(session_id, request_id).await,
        } {
            // Error occurred, send it as response
            let content = RemoteResponse::Error(err);
            self.respond(
                session_id,
                CollectiveMessageResponse {
                    request_id,
                    content,
                },
            )
            .await;
        }
    }

    /// Un-register a node; a pending register request of its is answered with an error.
    async fn finish(
        &mut self,
        session_id: SessionId,
        request_id: RequestId,
    ) -> Result<(), GlobalCollectiveError> {
        if let Some(at) = self.pending.iter().position(|n| n.session == session_id) {
            let node = self.pending.remove(at);
            if self.pending.is_empty() {
                self.pending_num_nodes = None;
            }
            let content = RemoteResponse::Error(GlobalCollectiveError::PendingRegisterOnFinish);
            let response = CollectiveMessageResponse {
                request_id: node.request,
                content,
            };
            self.respond(session_id, response).await;
        } else {
            self.registered_nodes
                .remove(&session_id)
                .ok_or(GlobalCollectiveError::NotRegisteredOnFinish)?;
        }

        self.respond(
            session_id,
            CollectiveMessageResponse {
                request_id,
                content: RemoteResponse::FinishAck,
            },
        )
        .await;

        Ok(())
    }

    async fn register(
        &mut self,
        session_id: SessionId,
        request_id: RequestId,
        node_addr: Address,
        num_nodes: u32,
        peers: Vec<PeerId>,
    ) -> Result<(), GlobalCollectiveError> {
        if self.pending_num_nodes.is_some_and(|n| n != num_nodes) {
            return Err(GlobalCollectiveError::RegisterParamsMismatch);
        }
        if self.registered_nodes.contains_key(&session_id)
            || self
                .pending
                .iter()
                .any(|n| n.session == session_id || n.address == node_addr)
        {
            return Err(GlobalCollectiveError::DoubleRegister);
        }
        self.pending_num_nodes = Some(num_nodes);
        self.pending.push(PendingNode {
            session: session_id,
            request: request_id,
            address: node_addr,
            peers,
        });
        if self.pending.len() < num_nodes as usize {
            return Ok(());
        }

        // The group is complete: number its nodes, then answer every register request.
        let mut group = core::mem::take(&mut self.pending);
        self.pending_num_nodes = None;
        let lowest = |n: &PendingNode| n.peers.iter().map(|p| p.0).min().unwrap_or(u32::MAX);
        group.sort_by_key(lowest);
        let mut firsts: Vec<u32> = group.iter().map(lowest).collect();
        firsts.dedup();
        let by_peer = firsts.len() == group.len() && !firsts.contains(&u32::MAX);
        let ids: Vec<NodeId> = group
            .iter()
            .enumerate()
            .map(|(i, n)| NodeId::from(if by_peer { lowest(n) } else { i as u32 }))
            .collect();
        let nodes: HashMap<NodeId, Address> = ids
            .iter()
            .zip(&group)
            .map(|(id, n)| (*id, n.address.clone()))
            .collect();
        let num_global_devices = group.iter().map(|n| n.peers.len() as u32).sum();
        for (node_id, node) in ids.into_iter().zip(group) {
            self.registered_nodes.insert(node.session, node_id);
            let content = RemoteResponse::Register {
                node_id,
                nodes: nodes.clone(),
                num_global_devices,
            };
            let resp = CollectiveMessageResponse {
                request_id: node.request,
                content,
            };
            self.respond(node.session, resp).await;
        }

        Ok(())
    }
}
