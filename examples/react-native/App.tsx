// An Alcove break-out room screen for React Native, on @alcove/sdk-js/react-native and
// react-native-webrtc: join a room with a token, see who is where and the room list, accept or
// decline invitations, join and leave break-out rooms; moderators also create rooms, invite
// everyone, and close them all. The names are the vendor React Native page's (createBreakOutRoom,
// inviteToBreakOutRoom, joinBreakoutRoom, rejectBreakOutRoom, disconnect, destroyAllBreakOutSession,
// invitationForBreakoutRoom, …).
//
// Drop it into an app (see README.md): `npm install @alcove/sdk-js react-native-webrtc`, ask for
// the microphone permission, render <AlcoveScreen />. Type-checked in CI (`npm run check`).

import React, { useCallback, useEffect, useState } from 'react';
import { Button, FlatList, SafeAreaView, ScrollView, StyleSheet, Text, TextInput, View } from 'react-native';
import * as webrtc from 'react-native-webrtc';
import { AlcoveError, connect, errorName } from '@alcove/sdk-js/react-native';
import type { BreakoutRoom, Room } from '@alcove/sdk-js/react-native';

/** A room of the room list, as the screen shows it. */
type Listed = { id: string; name: string; members: number; places: number; selfSelect: boolean };

/** What went wrong, in words (an Alcove error code has a name; see docs/errors.md). */
function describe(e: unknown): string {
  if (e instanceof AlcoveError) return e.result != null ? `${errorName(e.result)} (${e.result}): ${e.message}` : e.message;
  return e instanceof Error ? e.message : String(e);
}

/** Re-renders the screen whenever the family picture or the media state changes. */
function useRoomState(room: Room | null): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (!room) return undefined;
    const bump = () => setVersion((v) => v + 1);
    const offs = ['statechange', 'mediastatechange', 'close', 'reconnecting', 'reconnected'].map((name) => room.on(name, bump));
    return () => offs.forEach((off) => off());
  }, [room]);
  return version;
}

export default function AlcoveScreen(): React.JSX.Element {
  const [url, setUrl] = useState('wss://alcove.example.com/v1/signal');
  const [token, setToken] = useState('');
  const [room, setRoom] = useState<Room | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useRoomState(room);

  /** Runs one SDK call, showing its failure (a refused ack rejects with an AlcoveError). */
  const act = useCallback(async (what: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await what();
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }, []);

  // Invitations: the SDK keeps them in room.invitations; a forced join moves this client by
  // itself (room.breakoutRoom becomes the new handle).
  useEffect(() => {
    if (!room) return undefined;
    const offInvite = room.on('invitationForBreakoutRoom', (inv: { room_id: string; requestor: { name: string } }) => {
      setError(null);
      console.log(`invited to ${inv.room_id} by ${inv.requestor.name}`);
    });
    const offClose = room.on('close', (info: { code: number; error?: Error }) => {
      if (info.error) setError(describe(info.error));
      setRoom(null);
    });
    return () => {
      offInvite();
      offClose();
    };
  }, [room]);

  const join = () => act(async () => {
    // webrtc: react-native-webrtc's RTCPeerConnection, mediaDevices and MediaStream.
    const r = await connect(url.trim(), token.trim(), { webrtc, audio: true });
    setRoom(r);
  });

  if (!room) {
    return (
      <SafeAreaView style={styles.screen}>
        <Text style={styles.title}>Join a room</Text>
        <TextInput style={styles.input} value={url} onChangeText={setUrl} autoCapitalize="none" placeholder="signalling URL" />
        <TextInput style={styles.input} value={token} onChangeText={setToken} autoCapitalize="none" placeholder="token (POST /v1/rooms/{id}/tokens)" />
        <Button title={busy ? 'Joining…' : 'Join'} disabled={busy || token.trim() === ''} onPress={join} />
        {error ? <Text style={styles.error}>{error}</Text> : null}
      </SafeAreaView>
    );
  }

  const br: BreakoutRoom | null = room.breakoutRoom;
  const moderator = room.role === 'moderator';
  const inParent = room.location === 'parent';
  const listed: Listed[] = [...room.roomList.values()].map((r) => ({
    id: r.room_id, name: r.name, members: r.members, places: r.participants, selfSelect: r.self_select,
  }));
  const invitations = [...room.invitations.values()];
  const everyoneElse = [...room.users.values()].filter((u) => u.clientId !== room.clientId && u.role === 'participant').map((u) => u.clientId);

  return (
    <SafeAreaView style={styles.screen}>
      <ScrollView>
        <Text style={styles.title}>{room.name}</Text>
        <Text>
          {room.me?.name} ({room.role}) · {br ? `in ${br.name}` : 'in the main room'}
          {room.paused ? ' · main room paused' : ''} · media {room.media.state.state}
          {room.connectionState === 'reconnecting' ? ' · reconnecting…' : ''}
        </Text>
        {error ? <Text style={styles.error}>{error}</Text> : null}

        {br ? (
          <View style={styles.box}>
            <Text style={styles.heading}>{br.name}</Text>
            <Text>{(br.info?.members ?? []).map((m) => m.name).join(', ') || 'nobody else yet'}</Text>
            <View style={styles.row}>
              <Button title="Leave" disabled={busy} onPress={() => act(() => br.disconnect())} />
              <Button title={room.paused ? 'Hear main room' : 'Mute main room'} disabled={busy}
                onPress={() => act(() => (room.paused ? room.resume() : room.pause()))} />
            </View>
          </View>
        ) : null}

        <Text style={styles.heading}>Invitations</Text>
        {invitations.length === 0 ? <Text>none</Text> : invitations.map((inv) => (
          <View key={inv.room_id} style={styles.row}>
            <Text style={styles.grow}>{room.roomList.get(inv.room_id)?.name ?? inv.room_id} from {inv.requestor.name}</Text>
            <Button title="Join" disabled={busy} onPress={() => act(() => room.joinBreakoutRoom({ role: 'participant', room_id: inv.room_id }, { audio: true, video: false }))} />
            <Button title="Decline" disabled={busy} onPress={() => act(() => room.rejectBreakOutRoom(inv.room_id))} />
          </View>
        ))}

        <Text style={styles.heading}>Break-out rooms</Text>
        <FlatList
          scrollEnabled={false}
          data={listed}
          keyExtractor={(r) => r.id}
          ListEmptyComponent={<Text>none</Text>}
          renderItem={({ item }) => (
            <View style={styles.row}>
              <Text style={styles.grow}>{item.name} · {item.members}/{item.places}{item.selfSelect ? ' · open' : ''}</Text>
              {br?.roomId !== item.id && (moderator || item.selfSelect) ? (
                <Button title="Join" disabled={busy}
                  onPress={() => act(() => room.joinBreakoutRoom({ role: moderator ? 'moderator' : 'participant', room_id: item.id }, { audio: true, video: false }))} />
              ) : null}
            </View>
          )}
        />

        {moderator && inParent ? (
          <View style={styles.row}>
            <Button title="New room, invite everyone" disabled={busy} onPress={() => act(async () => {
              const ack = await room.createBreakOutRoom({ participants: 2, audio: true, video: false, canvas: false, share: false, max_rooms: 1 });
              const [id] = ack.msg.rooms as string[];
              if (everyoneElse.length > 0) await room.inviteToBreakOutRoom({ clients: everyoneElse, room_id: id, force_join: false });
            })} />
            <Button title="Close all" disabled={busy || listed.length === 0} onPress={() => act(() => room.destroyAllBreakOutSession())} />
          </View>
        ) : null}

        <Button title="Leave the room" onPress={() => { room.disconnect(); setRoom(null); }} />
      </ScrollView>
    </SafeAreaView>
  );
}

const styles = StyleSheet.create({
  screen: { flex: 1, padding: 16, gap: 8 },
  title: { fontSize: 22, fontWeight: '600', marginBottom: 8 },
  heading: { fontSize: 17, fontWeight: '600', marginTop: 16 },
  input: { borderWidth: 1, borderColor: '#999', borderRadius: 6, padding: 8, marginBottom: 8 },
  error: { color: '#b00020', marginVertical: 8 },
  box: { borderWidth: 1, borderColor: '#ccc', borderRadius: 8, padding: 12, marginTop: 12 },
  row: { flexDirection: 'row', alignItems: 'center', gap: 8, marginVertical: 4 },
  grow: { flex: 1 },
});
