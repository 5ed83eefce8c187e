//! [`UserList`]: who is connected to the family, where, and in which parent-link state, kept
//! up to date from the server's presence frames.
//!
//! It starts from `roomConnected.users` and applies, in arrival order, the version-1 presence
//! frames (`userConnected`, `userDisconnected`, `userMoved`, `userPaused`, `userMuted`) and the
//! version-2 batch (`usersUpdated`: each entry replaces or adds a user, each `left` id removes
//! one). Either way the list ends the same, so an app reads it without caring which version
//! the server speaks.

use alcove_proto::signal::{ServerMessage, UserInfo};
use alcove_proto::ClientId;

/// The family's users, in connection order (newcomers last).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserList {
    users: Vec<UserInfo>,
}

impl UserList {
    /// A list starting from `roomConnected.users`.
    pub fn new(users: Vec<UserInfo>) -> UserList {
        UserList { users }
    }

    /// Everyone, in connection order.
    pub fn users(&self) -> &[UserInfo] {
        &self.users
    }

    /// One user.
    pub fn get(&self, client: &ClientId) -> Option<&UserInfo> {
        self.users.iter().find(|u| &u.client_id == client)
    }

    fn get_mut(&mut self, client: &ClientId) -> Option<&mut UserInfo> {
        self.users.iter_mut().find(|u| &u.client_id == client)
    }

    fn upsert(&mut self, user: UserInfo) {
        match self.get_mut(&user.client_id) {
            Some(u) => *u = user,
            None => self.users.push(user),
        }
    }

    /// Applies one frame; returns whether it was presence (and so may have changed the list).
    pub fn apply(&mut self, msg: &ServerMessage) -> bool {
        match msg {
            ServerMessage::UserConnected(u) => self.upsert(u.clone()),
            ServerMessage::UserDisconnected(u) => self.users.retain(|x| x.client_id != u.client_id),
            ServerMessage::UserMoved(m) => {
                if let Some(u) = self.get_mut(&m.client_id) {
                    u.location = m.location.clone();
                }
            }
            ServerMessage::UserPaused(p) => {
                if let Some(u) = self.get_mut(&p.client_id) {
                    u.paused = p.paused;
                }
            }
            ServerMessage::UserMuted(m) => {
                if let Some(u) = self.get_mut(&m.client_id) {
                    u.muted = m.muted;
                }
            }
            ServerMessage::UsersUpdated(batch) => {
                if batch.users.len() > 8 {
                    // A wave: index once instead of a scan per entry.
                    let mut at: std::collections::HashMap<ClientId, usize> = self
                        .users
                        .iter()
                        .enumerate()
                        .map(|(i, u)| (u.client_id.clone(), i))
                        .collect();
                    for u in &batch.users {
                        match at.get(&u.client_id) {
                            Some(&i) => self.users[i] = u.clone(),
                            None => {
                                at.insert(u.client_id.clone(), self.users.len());
                                self.users.push(u.clone());
                            }
                        }
                    }
                } else {
                    for u in &batch.users {
                        self.upsert(u.clone());
                    }
                }
                if !batch.left.is_empty() {
                    self.users.retain(|u| !batch.left.contains(&u.client_id));
                }
            }
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alcove_proto::signal::{
        Location, Muted, Role, UserMoved, UserPaused, UserRef, UsersUpdated,
    };
    use alcove_proto::RoomId;
    use std::sync::Arc;

    fn user(id: &str) -> UserInfo {
        UserInfo {
            client_id: ClientId(id.into()),
            name: id.into(),
            role: Role::Participant,
            user_ref: String::new(),
            data: serde_json::Value::Null,
            location: Location::Parent,
            paused: false,
            muted: Muted::default(),
        }
    }

    #[test]
    fn version_one_frames_and_a_batch_give_the_same_list() {
        let br = Location::Breakout(RoomId("r-br1".into()));
        let start = vec![user("a"), user("b"), user("c")];
        let mut v1 = UserList::new(start.clone());
        for m in [
            ServerMessage::UserMoved(UserMoved {
                client_id: ClientId("b".into()),
                location: br.clone(),
            }),
            ServerMessage::UserPaused(UserPaused {
                client_id: ClientId("b".into()),
                paused: true,
            }),
            ServerMessage::UserDisconnected(UserRef {
                client_id: ClientId("c".into()),
                name: "c".into(),
            }),
            ServerMessage::UserConnected(user("d")),
        ] {
            assert!(v1.apply(&m));
        }
        let mut moved = user("b");
        moved.location = br;
        moved.paused = true;
        let mut v2 = UserList::new(start);
        assert!(
            v2.apply(&ServerMessage::UsersUpdated(Arc::new(UsersUpdated {
                users: vec![moved, user("d")],
                left: vec![ClientId("c".into())],
            })))
        );
        assert_eq!(v1, v2);
        assert_eq!(v2.users().len(), 3);
        assert!(v2.get(&ClientId("b".into())).unwrap().paused);
    }
}
