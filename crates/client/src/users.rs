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
use std::collections::HashMap;

/// The family's users, in connection order (newcomers last), indexed by client id: applying
/// a frame costs what the frame carries, not the size of the family (a class of 1,000 applies
/// a batch of 10 moved users in ten lookups).
#[derive(Debug, Clone, Default)]
pub struct UserList {
    users: Vec<UserInfo>,
    /// Position of each user in `users`.
    at: HashMap<ClientId, usize>,
}

impl PartialEq for UserList {
    fn eq(&self, other: &UserList) -> bool {
        self.users == other.users
    }
}

impl UserList {
    /// A list starting from `roomConnected.users`.
    pub fn new(users: Vec<UserInfo>) -> UserList {
        let mut list = UserList {
            users,
            at: HashMap::new(),
        };
        list.reindex();
        list
    }

    fn reindex(&mut self) {
        self.at = self
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.client_id.clone(), i))
            .collect();
    }

    /// Everyone, in connection order.
    pub fn users(&self) -> &[UserInfo] {
        &self.users
    }

    /// One user.
    pub fn get(&self, client: &ClientId) -> Option<&UserInfo> {
        self.at.get(client).and_then(|&i| self.users.get(i))
    }

    fn get_mut(&mut self, client: &ClientId) -> Option<&mut UserInfo> {
        self.at.get(client).and_then(|&i| self.users.get_mut(i))
    }

    fn upsert(&mut self, user: UserInfo) {
        match self.at.get(&user.client_id) {
            Some(&i) => self.users[i] = user,
            None => {
                self.at.insert(user.client_id.clone(), self.users.len());
                self.users.push(user);
            }
        }
    }

    /// Removes the users `gone` names; the index is rebuilt only when someone left.
    fn remove(&mut self, gone: impl Fn(&ClientId) -> bool) {
        let before = self.users.len();
        self.users.retain(|u| !gone(&u.client_id));
        if self.users.len() != before {
            self.reindex();
        }
    }

    /// Applies one frame; returns whether it was presence (and so may have changed the list).
    pub fn apply(&mut self, msg: &ServerMessage) -> bool {
        match msg {
            ServerMessage::UserConnected(u) => self.upsert(u.clone()),
            ServerMessage::UserDisconnected(u) => self.remove(|c| *c == u.client_id),
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
                for u in &batch.users {
                    self.upsert(u.clone());
                }
                if batch.left.len() > 16 {
                    let left: std::collections::HashSet<&ClientId> = batch.left.iter().collect();
                    self.remove(|c| left.contains(c));
                } else if !batch.left.is_empty() {
                    self.remove(|c| batch.left.contains(c));
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
        // The index follows removals: "d" moved up a place when "c" left.
        assert_eq!(v2.get(&ClientId("d".into())).unwrap().name, "d");
        assert!(v2.get(&ClientId("c".into())).is_none());
        assert!(v2.apply(&ServerMessage::UserDisconnected(UserRef {
            client_id: ClientId("a".into()),
            name: "a".into(),
        })));
        let names: Vec<&str> = v2.users().iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["b", "d"]);
        assert_eq!(v2.get(&ClientId("d".into())).unwrap().name, "d");
        assert_eq!(v2.get(&ClientId("b".into())).unwrap().name, "b");
    }
}
