# rendered for ${host.name}
name = ${host.name}
address = ${host.address}
