package policy

import "sync/atomic"

// Store holds the policy in force. Readers call Current on every decision
// and never see a half-applied update; the ConfigMap watcher calls Update
// and Reset. The zero Store is not usable; call NewStore.
type Store struct {
	managerNamespace string
	current          atomic.Pointer[Policy]
}

// NewStore returns a Store holding the default policy. managerNamespace is
// taskgate's own namespace, always exempt from TTL policy.
func NewStore(managerNamespace string) *Store {
	s := &Store{managerNamespace: managerNamespace}
	s.Reset()
	return s
}

// Current returns the policy in force. Treat it as read-only.
func (s *Store) Current() *Policy {
	return s.current.Load()
}

// Update loads data and, only if it loads cleanly, puts it in force. On
// error the last good policy stays in force and the error, an *Error when
// the document parsed, says what to fix.
func (s *Store) Update(data []byte) error {
	p, err := Load(data)
	if err != nil {
		return err
	}
	s.Set(p)
	return nil
}

// Set puts a policy that Load returned in force.
func (s *Store) Set(p *Policy) {
	p.ManagerNamespace = s.managerNamespace
	s.current.Store(p)
}

// Reset puts the default policy in force, for when the ConfigMap is
// deleted.
func (s *Store) Reset() {
	p := Default()
	p.ManagerNamespace = s.managerNamespace
	s.current.Store(p)
}
